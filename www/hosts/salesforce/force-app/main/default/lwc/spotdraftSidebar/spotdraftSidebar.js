// SpotDraft contract sidebar on an Opportunity record page.
//
// Lightning Web Security blocks WebAssembly inside an LWC, so the sidebar (shell + core .wasm) runs in an
// <iframe> on the integration's own origin and this component is the host side of sdx/1, the same steps
// as www/sidebar/hosts/parent.js:
//   1. the iframe posts { sdx:1, kind:"evt", type:"hello" } to its parent; this component accepts it only
//      when event.source is the iframe's contentWindow AND event.origin is the configured sidebar origin;
//   2. it mints a relay session with Apex (SpotdraftRelayToken.mint, which signs it RS256 with the org's
//      certificate), creates a MessageChannel and posts { kind:"req", type:"init", payload: HostContext }
//      to exactly the sidebar origin, transferring port2;
//   3. everything after that travels over port1: requests session.refresh, ui.toast (ShowToastEvent),
//      ui.openUrl (https only), record.refresh (notifyRecordUpdateAvailable); event ui.resize (iframe
//      height); and this side sends record.changed ({ id }) when the wire adapter delivers a changed
//      Opportunity, and visibility when the page is hidden or shown.
// The component maps no record: init carries only the Opportunity's id and name (a first render). The
// core reads the deal itself from the relay, which reads Salesforce's REST API (Opportunity, Account,
// OpportunityContactRole) and maps it in Rust, as for every CRM. getRecord is wired only for the name
// and to notice changes. Text from the record is passed as data, never rendered as HTML.

import { LightningElement, api, wire } from "lwc";
import { getRecord, notifyRecordUpdateAvailable } from "lightning/uiRecordApi";
import { ShowToastEvent } from "lightning/platformShowToastEvent";
import mintRelayToken from "@salesforce/apex/SpotdraftRelayToken.mint";
import NAME_FIELD from "@salesforce/schema/Opportunity.Name";

const PROTOCOL = 1;
const MAX_MESSAGE_CHARS = 900 * 1024;
const MIN_HEIGHT = 120;
const MAX_HEIGHT = 4000;
const TOAST_VARIANTS = ["info", "success", "warning", "error"];
const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

// Watched, not mapped: when one of them changes, the sidebar is told to read the deal again. Optional
// because field-level security may hide any of them (ContactId is absent before API 49).
const WATCHED_FIELDS = ["LastModifiedDate", "StageName", "Amount", "CloseDate", "AccountId", "ContactId"];

/** A well-formed sdx/1 envelope (same rules as www/sidebar/protocol.js isEnvelope). */
export function isEnvelope(data) {
    if (!data || typeof data !== "object" || data.sdx !== PROTOCOL) return false;
    if (!["req", "res", "evt"].includes(data.kind)) return false;
    if (data.kind !== "res" && (typeof data.type !== "string" || data.type.length > 64)) return false;
    if (data.kind !== "evt" && (typeof data.id !== "string" || data.id.length > 64)) return false;
    try {
        return JSON.stringify(data).length <= MAX_MESSAGE_CHARS;
    } catch (e) {
        return false;
    }
}

function httpsUrl(value) {
    try {
        const url = new URL(String(value));
        return url.protocol === "https:" ? url : null;
    } catch (e) {
        return null;
    }
}

/** A UI API field value by dotted path ("Account.Name"), or undefined. */
function fieldValue(record, path) {
    let node = record;
    for (const part of path.split(".")) {
        const field = node && node.fields ? node.fields[part] : undefined;
        if (field === undefined || field === null) return undefined;
        node = field.value;
    }
    return node === null ? undefined : node;
}

function text(value) {
    if (value === undefined || value === null) return undefined;
    const s = String(value).trim();
    return s === "" ? undefined : s;
}

export function customFieldList(value) {
    return String(value || "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => API_NAME.test(s));
}

/**
 * What the sidebar gets of a UI API Opportunity record: its id, and its name for the first render. The
 * core reads the deal itself from the CRM (through the relay) and decides on nothing the browser sent.
 */
export function dealFromRecord(record) {
    const name = text(fieldValue(record, "Name"));
    return name ? { id: record.id, name } : { id: record.id };
}

/** The watched fields' values: a different fingerprint means the record changed. */
export function recordFingerprint(record, fields) {
    return JSON.stringify(fields.map((name) => {
        const value = fieldValue(record, name);
        return value === undefined ? null : value;
    }));
}

function failure(code, message) {
    const error = new Error(message);
    error.code = code;
    return error;
}

/** Apex errors arrive as { body: { message } }. */
function apexMessage(error) {
    if (error && error.body && typeof error.body.message === "string") return error.body.message;
    return error && error.message ? error.message : "Salesforce could not start a SpotDraft session";
}

export default class SpotdraftSidebar extends LightningElement {
    @api recordId;
    @api sidebarUrl;
    @api relayUrl;
    @api environment = "production";
    @api customFields;

    height = 480;
    deal = null;
    fingerprint = null;
    port = null;
    helloPending = false;
    starting = false;

    get sidebarOrigin() {
        const url = httpsUrl(this.sidebarUrl);
        return url ? url.origin : null;
    }

    get configError() {
        if (!this.sidebarOrigin) return "SpotDraft: set the Sidebar URL (https) in the page's component properties.";
        if (!httpsUrl(this.relayUrl)) return "SpotDraft: set the Relay URL (https) in the page's component properties.";
        if (!["uat", "production"].includes(this.environment)) return "SpotDraft: the environment must be uat or production.";
        return null;
    }

    get frameSrc() {
        const url = httpsUrl(this.sidebarUrl);
        if (!url) return null;
        url.searchParams.set("host", "salesforce");
        url.searchParams.set("env", this.environment);
        return url.href;
    }

    get frameStyle() {
        return `height: ${this.height}px`;
    }

    get watchedFields() {
        return WATCHED_FIELDS.concat(customFieldList(this.customFields));
    }

    get optionalFields() {
        return this.watchedFields.map((name) => `Opportunity.${name}`);
    }

    @wire(getRecord, { recordId: "$recordId", fields: [NAME_FIELD], optionalFields: "$optionalFields" })
    wiredOpportunity({ data, error }) {
        if (data) {
            const fingerprint = recordFingerprint(data, ["Name"].concat(this.watchedFields));
            const changed = this.fingerprint !== null && fingerprint !== this.fingerprint;
            this.fingerprint = fingerprint;
            this.deal = dealFromRecord(data);
            // Only that it changed: the core reads the deal again from the CRM.
            if (changed) this.event("record.changed", { id: this.deal.id });
            if (this.helloPending) this.start();
        } else if (error) {
            this.toast("error", "SpotDraft could not read this opportunity.");
        }
    }

    connectedCallback() {
        this.onMessage = (event) => this.handleMessage(event);
        this.onVisibility = () => this.event("visibility", { visible: document.visibilityState !== "hidden" });
        window.addEventListener("message", this.onMessage);
        document.addEventListener("visibilitychange", this.onVisibility);
    }

    disconnectedCallback() {
        window.removeEventListener("message", this.onMessage);
        document.removeEventListener("visibilitychange", this.onVisibility);
        if (this.port) this.port.close();
        this.port = null;
    }

    /** Only the sidebar iframe's own window, on the configured origin, may say hello. */
    handleMessage(event) {
        const frame = this.refs ? this.refs.frame : null;
        if (!frame || event.source !== frame.contentWindow || event.origin !== this.sidebarOrigin) return;
        const data = event.data;
        if (!isEnvelope(data) || data.kind !== "evt" || data.type !== "hello") return;
        this.helloPending = true;
        if (this.deal) this.start();
    }

    async start() {
        if (this.starting) return;
        this.starting = true;
        this.helloPending = false;
        try {
            const session = await mintRelayToken({ recordId: this.recordId });
            const frame = this.refs ? this.refs.frame : null;
            if (!frame || !frame.contentWindow) return;
            const { port1, port2 } = new MessageChannel();
            if (this.port) this.port.close();
            this.port = port1;
            port1.onmessage = (event) => this.receive(event.data);
            const payload = {
                protocol: PROTOCOL,
                host: "salesforce",
                environment: this.environment,
                relayUrl: httpsUrl(this.relayUrl).href.replace(/\/+$/, ""),
                tenant: session.tenant,
                deal: this.deal,
                user: session.user ? { id: session.user } : undefined,
                theme: "light",
                session: { token: session.token, expiresAt: session.expiresAt },
            };
            frame.contentWindow.postMessage(
                { sdx: PROTOCOL, kind: "req", id: "s-init", type: "init", payload },
                this.sidebarOrigin,
                [port2],
            );
        } catch (error) {
            this.toast("error", apexMessage(error));
        } finally {
            this.starting = false;
        }
    }

    receive(data) {
        if (!isEnvelope(data)) return;
        if (data.kind === "evt") {
            const height = data.payload ? data.payload.height : undefined;
            if (data.type === "ui.resize" && Number.isFinite(height)) {
                this.height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.round(height)));
            }
            return;
        }
        if (data.kind !== "req") return;
        const port = this.port;
        Promise.resolve()
            .then(() => this.serve(data.type, data.payload || {}))
            .then(
                (payload) => port && port.postMessage({ sdx: PROTOCOL, kind: "res", id: data.id, ok: true, payload }),
                (error) => port && port.postMessage({
                    sdx: PROTOCOL, kind: "res", id: data.id, ok: false,
                    error: { code: error.code || "HOST_ERROR", message: apexMessage(error), retryable: false },
                }),
            );
    }

    async serve(type, payload) {
        switch (type) {
            case "session.refresh": {
                let session;
                try {
                    session = await mintRelayToken({ recordId: this.recordId });
                } catch (error) {
                    throw failure("DENIED", apexMessage(error));
                }
                return { token: session.token, expiresAt: session.expiresAt };
            }
            case "ui.toast":
                this.toast(payload.level, String(payload.message === undefined ? "" : payload.message));
                return {};
            case "ui.openUrl": {
                const url = httpsUrl(payload.url);
                if (!url) throw failure("DENIED", "only https links open");
                window.open(url.href, "_blank", "noopener");
                return {};
            }
            case "record.refresh":
                await notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
                return {};
            default:
                throw failure("UNSUPPORTED", `${type} is not supported`);
        }
    }

    event(type, payload) {
        if (this.port) this.port.postMessage({ sdx: PROTOCOL, kind: "evt", type, payload });
    }

    toast(level, message) {
        const variant = TOAST_VARIANTS.includes(level) ? level : "info";
        this.dispatchEvent(new ShowToastEvent({ title: "SpotDraft", message, variant }));
    }
}
