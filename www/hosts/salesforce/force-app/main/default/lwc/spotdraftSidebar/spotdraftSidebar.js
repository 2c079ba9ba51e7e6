// SpotDraft contract sidebar on an Opportunity record page.
//
// Lightning Web Security blocks WebAssembly inside an LWC, so the sidebar (shell + core .wasm) runs in an
// <iframe> on the integration's own origin and this component is the host side of sdx/1, the same steps
// as www/sidebar/hosts/parent.js:
//   1. the iframe posts { sdx:1, kind:"evt", type:"hello" } to its parent; this component accepts it only
//      when event.source is the iframe's contentWindow AND event.origin is the configured sidebar origin;
//   2. it mints a relay session with Apex (SpotdraftRelayToken.mint, which holds the host secret
//      server-side), creates a MessageChannel and posts { kind:"req", type:"init", payload: HostContext }
//      to exactly the sidebar origin, transferring port2;
//   3. everything after that travels over port1: requests session.refresh, ui.toast (ShowToastEvent),
//      ui.openUrl (https only), record.refresh (notifyRecordUpdateAvailable); event ui.resize (iframe
//      height); and this side sends record.changed when the wire adapter delivers a changed Opportunity,
//      and visibility when the page is hidden or shown.
// The Opportunity is read with lightning/uiRecordApi getRecord and mapped to the core's canonical deal
// (DealInput in src/wasm/typescript.rs). Text from the record is passed as data, never rendered as HTML.

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

// Optional: absent in some orgs (CurrencyIsoCode without multi-currency, BillingCountryCode without
// state and country picklists, ContactId before API 49) or hidden by field-level security.
const OPTIONAL_FIELDS = [
    "Amount", "CurrencyIsoCode", "StageName", "CloseDate", "AccountId", "Account.Name", "Account.BillingStreet",
    "Account.BillingCity", "Account.BillingState", "Account.BillingPostalCode", "Account.BillingCountry",
    "Account.BillingCountryCode", "Owner.Name", "Owner.Email", "ContactId", "Contact.FirstName", "Contact.LastName",
    "Contact.Email",
].map((name) => `Opportunity.${name}`);

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

function compact(object) {
    const out = {};
    Object.keys(object).forEach((key) => {
        const value = object[key];
        if (value === undefined || value === null || value === "") return;
        if (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) return;
        out[key] = value;
    });
    return out;
}

export function customFieldList(value) {
    return String(value || "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => API_NAME.test(s));
}

/** A UI API Opportunity record → the core's canonical deal. */
export function dealFromRecord(record, customFields = []) {
    const get = (path) => fieldValue(record, path);
    const accountName = text(get("Account.Name"));
    const custom = {};
    customFields.forEach((name) => {
        const value = get(name);
        if (value !== undefined && (typeof value !== "object" || Array.isArray(value))) custom[name] = value;
    });
    return compact({
        id: record.id,
        name: text(get("Name")),
        amount: typeof get("Amount") === "number" ? get("Amount") : undefined,
        currency: text(get("CurrencyIsoCode")),
        stage: text(get("StageName")),
        closeDate: text(get("CloseDate")),
        owner: compact({ name: text(get("Owner.Name")), email: text(get("Owner.Email")) }),
        account: accountName
            ? compact({
                id: text(get("AccountId")),
                name: accountName,
                address: compact({
                    lineOne: text(get("Account.BillingStreet")),
                    city: text(get("Account.BillingCity")),
                    state: text(get("Account.BillingState")),
                    zipcode: text(get("Account.BillingPostalCode")),
                    country: text(get("Account.BillingCountry")),
                    countryIsoCode: text(get("Account.BillingCountryCode")),
                }),
            })
            : undefined,
        primaryContact: (() => {
            const contact = compact({
                id: text(get("ContactId")),
                firstName: text(get("Contact.FirstName")),
                lastName: text(get("Contact.LastName")),
                email: text(get("Contact.Email")),
            });
            return Object.keys(contact).some((k) => k !== "id") ? contact : undefined;
        })(),
        custom,
    });
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

    get optionalFields() {
        return OPTIONAL_FIELDS.concat(customFieldList(this.customFields).map((name) => `Opportunity.${name}`));
    }

    @wire(getRecord, { recordId: "$recordId", fields: [NAME_FIELD], optionalFields: "$optionalFields" })
    wiredOpportunity({ data, error }) {
        if (data) {
            const deal = dealFromRecord(data, customFieldList(this.customFields));
            const changed = this.deal !== null && JSON.stringify(deal) !== JSON.stringify(this.deal);
            this.deal = deal;
            if (changed) this.event("record.changed", { deal });
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
