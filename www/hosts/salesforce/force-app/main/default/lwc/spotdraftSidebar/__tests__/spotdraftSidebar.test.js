import { createElement } from "lwc";
import SpotdraftSidebar, { dealFromRecord, isEnvelope } from "c/spotdraftSidebar";
import { getRecord, notifyRecordUpdateAvailable } from "lightning/uiRecordApi";
import { ShowToastEventName } from "lightning/platformShowToastEvent";
import mintRelayToken from "@salesforce/apex/SpotdraftRelayToken.mint";
import { MessageChannel as NodeMessageChannel } from "node:worker_threads";

jest.mock(
    "@salesforce/apex/SpotdraftRelayToken.mint",
    () => ({ default: jest.fn() }),
    { virtual: true },
);

if (typeof globalThis.MessageChannel === "undefined") globalThis.MessageChannel = NodeMessageChannel;

const SIDEBAR = "https://sidebar.example.com";
const RECORD_ID = "006Hs00001AbCdEIAV";
const SESSION = { token: "h.p.s", expiresAt: 1_900_000_000, tenant: "00DHs0000000001MAA", user: "005Hs000001XyZaIAK" };

function field(value) {
    return { value, displayValue: null };
}

const RECORD = {
    apiName: "Opportunity",
    id: RECORD_ID,
    fields: {
        Name: field("Acme renewal <img src=x onerror=alert(1)>"),
        Amount: field(12000.5),
        CurrencyIsoCode: field("EUR"),
        StageName: field("Negotiation/Review"),
        CloseDate: field("2026-12-31"),
        AccountId: field("001Hs00000AcmeAAA"),
        Account: field({
            apiName: "Account",
            id: "001Hs00000AcmeAAA",
            fields: {
                Name: field("Acme GmbH"),
                BillingStreet: field("1 Main St"),
                BillingCity: field("Berlin"),
                BillingState: field(null),
                BillingPostalCode: field("10115"),
                BillingCountry: field("Germany"),
            },
        }),
        Owner: field({ apiName: "User", id: "005Hs000001XyZaIAK", fields: { Name: field("Sam Seller"), Email: field("sam@seller.example") } }),
        ContactId: field("003Hs00000AdaAAA"),
        Contact: field({ apiName: "Contact", id: "003Hs00000AdaAAA", fields: { FirstName: field("Ada"), LastName: field("Lovelace"), Email: field("ada@acme.example") } }),
        Term_Months__c: field(12),
    },
};

// All the sidebar gets: the core reads the deal itself from Salesforce, through the relay.
const EXPECTED_DEAL = { id: RECORD_ID, name: "Acme renewal <img src=x onerror=alert(1)>" };

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function mount(props = {}) {
    const element = createElement("c-spotdraft-sidebar", { is: SpotdraftSidebar });
    Object.assign(element, {
        recordId: RECORD_ID,
        sidebarUrl: `${SIDEBAR}/sidebar/index.html`,
        relayUrl: "https://relay.example.com",
        environment: "uat",
        customFields: "Term_Months__c, bad name",
        ...props,
    });
    document.body.appendChild(element);
    const frame = element.shadowRoot.querySelector("iframe");
    const posted = frame ? jest.spyOn(frame.contentWindow, "postMessage").mockImplementation(() => {}) : null;
    return { element, frame, posted };
}

function hello(source, origin = SIDEBAR, data = { sdx: 1, kind: "evt", type: "hello", payload: { versions: [1] } }) {
    window.dispatchEvent(new MessageEvent("message", { data, origin, source }));
}

/** Connects and returns the sidebar's end of the transferred port, with every message it receives. */
async function connected(props) {
    const mounted = mount(props);
    getRecord.emit(RECORD);
    hello(mounted.frame.contentWindow);
    await flush();
    const [, , transfer] = mounted.posted.mock.calls[0];
    const port = transfer[0];
    const received = [];
    port.onmessage = (event) => received.push(event.data);
    const ask = async (type, payload, id = `c-${type}`) => {
        port.postMessage({ sdx: 1, kind: "req", id, type, payload });
        for (let i = 0; i < 50 && !received.some((m) => m.id === id); i += 1) await new Promise((r) => setTimeout(r, 2));
        return received.find((m) => m.id === id);
    };
    return { ...mounted, port, received, ask };
}

const ports = [];

beforeEach(() => {
    mintRelayToken.mockResolvedValue(SESSION);
});

afterEach(() => {
    while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    ports.splice(0).forEach((p) => p.close());
    jest.clearAllMocks();
});

describe("c-spotdraft-sidebar", () => {
    it("embeds the sidebar page from its own origin with the host and environment", () => {
        const { frame } = mount();
        expect(frame.getAttribute("src")).toBe(`${SIDEBAR}/sidebar/index.html?host=salesforce&env=uat`);
        expect(frame.getAttribute("title")).toBe("SpotDraft contracts");
    });

    it("shows a configuration problem instead of an iframe when the sidebar URL is not https", () => {
        const { element, frame } = mount({ sidebarUrl: "http://sidebar.example.com/" });
        expect(frame).toBeNull();
        expect(element.shadowRoot.textContent).toContain("Sidebar URL (https)");
    });

    it("maps no record: only the Opportunity's id and name are handed over, text kept as data", () => {
        expect(dealFromRecord(RECORD)).toEqual(EXPECTED_DEAL);
        expect(dealFromRecord({ id: "006x", fields: { Name: field("  ") } })).toEqual({ id: "006x" });
        expect(dealFromRecord({ id: "006x", fields: {} })).toEqual({ id: "006x" });
    });

    it("wires the record for its name and the fields whose changes matter, nothing it would map", async () => {
        mount();
        await flush();
        const config = getRecord.getLastConfig();
        expect(config.recordId).toBe(RECORD_ID);
        expect(config.optionalFields).toEqual([
            "Opportunity.LastModifiedDate", "Opportunity.StageName", "Opportunity.Amount", "Opportunity.CloseDate",
            "Opportunity.AccountId", "Opportunity.ContactId", "Opportunity.Term_Months__c",
        ]);
    });

    it("ignores a hello from a foreign origin", async () => {
        const { frame, posted } = mount();
        getRecord.emit(RECORD);
        hello(frame.contentWindow, "https://evil.example.com");
        hello(frame.contentWindow, "https://sidebar.example.com.evil.example");
        hello(frame.contentWindow, "http://sidebar.example.com");
        await flush();
        expect(mintRelayToken).not.toHaveBeenCalled();
        expect(posted).not.toHaveBeenCalled();
    });

    it("ignores a hello from the right origin but another window", async () => {
        const { posted } = mount();
        getRecord.emit(RECORD);
        hello(window);
        hello(null);
        const other = document.createElement("iframe");
        document.body.appendChild(other);
        hello(other.contentWindow);
        await flush();
        expect(mintRelayToken).not.toHaveBeenCalled();
        expect(posted).not.toHaveBeenCalled();
    });

    it("ignores messages that are not an sdx/1 hello", async () => {
        const { frame, posted } = mount();
        getRecord.emit(RECORD);
        for (const data of ["hello", { type: "hello" }, { sdx: 2, kind: "evt", type: "hello" }, { sdx: 1, kind: "req", id: "x", type: "init" }]) {
            hello(frame.contentWindow, SIDEBAR, data);
        }
        await flush();
        expect(posted).not.toHaveBeenCalled();
        expect(isEnvelope({ sdx: 1, kind: "evt", type: "hello" })).toBe(true);
    });

    it("answers hello with init to the sidebar origin only, transferring a MessagePort", async () => {
        const { posted, port } = await connected();
        ports.push(port);
        expect(mintRelayToken).toHaveBeenCalledWith({ recordId: RECORD_ID });
        expect(posted).toHaveBeenCalledTimes(1);
        const [message, targetOrigin, transfer] = posted.mock.calls[0];
        expect(targetOrigin).toBe(SIDEBAR);
        expect(transfer).toHaveLength(1);
        expect(typeof transfer[0].postMessage).toBe("function");
        expect(message).toEqual({
            sdx: 1,
            kind: "req",
            id: "s-init",
            type: "init",
            payload: {
                protocol: 1,
                host: "salesforce",
                environment: "uat",
                relayUrl: "https://relay.example.com",
                tenant: SESSION.tenant,
                deal: EXPECTED_DEAL,
                user: { id: SESSION.user },
                theme: "light",
                session: { token: SESSION.token, expiresAt: SESSION.expiresAt },
            },
        });
    });

    it("waits for the record before answering a hello that came first", async () => {
        const { frame, posted } = mount();
        hello(frame.contentWindow);
        await flush();
        expect(posted).not.toHaveBeenCalled();
        getRecord.emit(RECORD);
        await flush();
        expect(posted).toHaveBeenCalledTimes(1);
        ports.push(posted.mock.calls[0][2][0]);
    });

    it("answers session.refresh with a fresh Apex token", async () => {
        const { ask, port } = await connected();
        ports.push(port);
        mintRelayToken.mockResolvedValue({ ...SESSION, token: "h.p.t", expiresAt: 1_900_000_300 });
        const answer = await ask("session.refresh", {});
        expect(answer).toEqual({ sdx: 1, kind: "res", id: "c-session.refresh", ok: true, payload: { token: "h.p.t", expiresAt: 1_900_000_300 } });
        expect(mintRelayToken).toHaveBeenCalledTimes(2);
    });

    it("reports an Apex refusal as DENIED", async () => {
        const { ask, port } = await connected();
        ports.push(port);
        mintRelayToken.mockRejectedValue({ body: { message: "You do not have access to this opportunity." } });
        const answer = await ask("session.refresh", {});
        expect(answer.ok).toBe(false);
        expect(answer.error).toEqual({ code: "DENIED", message: "You do not have access to this opportunity.", retryable: false });
    });

    it("shows ui.toast as a Lightning toast", async () => {
        const { element, ask, port } = await connected();
        ports.push(port);
        const toasts = [];
        element.addEventListener(ShowToastEventName || "lightning__showtoast", (event) => toasts.push(event.detail));
        const answer = await ask("ui.toast", { level: "success", message: "Contract created" });
        expect(answer.ok).toBe(true);
        await ask("ui.toast", { level: "<b>", message: "<b>bold</b>" }, "c-2");
        expect(toasts).toEqual([
            { title: "SpotDraft", message: "Contract created", variant: "success" },
            { title: "SpotDraft", message: "<b>bold</b>", variant: "info" },
        ]);
    });

    it("opens https links only", async () => {
        const { ask, port } = await connected();
        ports.push(port);
        const open = jest.spyOn(window, "open").mockImplementation(() => null);
        const denied = await ask("ui.openUrl", { url: "javascript:alert(1)" }, "c-1");
        const plain = await ask("ui.openUrl", { url: "http://app.spotdraft.com/contracts/v2/1" }, "c-2");
        const ok = await ask("ui.openUrl", { url: "https://app.spotdraft.com/contracts/v2/1" }, "c-3");
        expect(denied.error.code).toBe("DENIED");
        expect(plain.error.code).toBe("DENIED");
        expect(ok.ok).toBe(true);
        expect(open.mock.calls).toEqual([["https://app.spotdraft.com/contracts/v2/1", "_blank", "noopener"]]);
    });

    it("answers record.refresh through notifyRecordUpdateAvailable and refuses unknown requests", async () => {
        const { ask, port } = await connected();
        ports.push(port);
        const refreshed = await ask("record.refresh", {}, "c-1");
        expect(refreshed.ok).toBe(true);
        expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: RECORD_ID }]);
        const unknown = await ask("record.update", { values: {} }, "c-2");
        expect(unknown.error.code).toBe("UNSUPPORTED");
    });

    it("sets the iframe height from ui.resize, within bounds", async () => {
        const { frame, port } = await connected();
        ports.push(port);
        port.postMessage({ sdx: 1, kind: "evt", type: "ui.resize", payload: { height: 640.4 } });
        await new Promise((r) => setTimeout(r, 10));
        expect(frame.style.height).toBe("640px");
        // Down as well as up: the frame follows the content when it shrinks (another deal, a notice gone).
        port.postMessage({ sdx: 1, kind: "evt", type: "ui.resize", payload: { height: 208 } });
        await new Promise((r) => setTimeout(r, 10));
        expect(frame.style.height).toBe("208px");
        port.postMessage({ sdx: 1, kind: "evt", type: "ui.resize", payload: { height: 1e9 } });
        await new Promise((r) => setTimeout(r, 10));
        expect(frame.style.height).toBe("4000px");
        port.postMessage({ sdx: 1, kind: "evt", type: "ui.resize", payload: { height: "12px; background:url(x)" } });
        await new Promise((r) => setTimeout(r, 10));
        expect(frame.style.height).toBe("4000px");
    });

    it("forwards record.changed with the id only when the wire delivers a changed Opportunity, and nothing when it is the same", async () => {
        const { port, received } = await connected();
        ports.push(port);
        getRecord.emit(RECORD);
        const won = { ...RECORD, fields: { ...RECORD.fields, StageName: field("Closed Won") } };
        getRecord.emit(won);
        getRecord.emit({ ...won, fields: { ...won.fields, Term_Months__c: field(24) } });
        await new Promise((r) => setTimeout(r, 10));
        const events = received.filter((m) => m.kind === "evt");
        const changed = { sdx: 1, kind: "evt", type: "record.changed", payload: { id: RECORD_ID } };
        expect(events).toEqual([changed, changed]);
    });
});
