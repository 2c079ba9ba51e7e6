// Types only, for `tsc -p tests/ts/tsconfig.shell.json` (never served: www/relay/sidebar-files.js lists
// what the page loads, and the page's bytes count against its payload budget). The shell's own
// contracts, which protocol.js and hosts/connection.js describe in prose. Whatever crosses into the
// core is typed with the package's own declarations, so a change on the Rust side fails the check.
import type { EarlyRequest, Environment, SidebarHostDeal } from "../pkg/sidebar.js";

/**
 * A payload or answer from the other side: only read, and every member unchecked until the reader
 * checks it (a payload that is not an object reads as undefined members).
 */
export type Fields = { readonly [key: string]: unknown };

/** Anything a message event can carry, before `isEnvelope` says what it is. */
export type Received = Fields | string | number | boolean | bigint | symbol | null | undefined;

/**
 * An sdx/1 message as `isEnvelope` checked it: `id` on requests and responses, `type` on requests and
 * events. It does not check payloads and errors.
 */
export type Envelope =
  | { sdx: 1; kind: "req"; id: string; type: string; payload?: Fields | null }
  | { sdx: 1; kind: "res"; id: string; ok?: unknown; payload?: Fields | null; error?: { code?: unknown; message?: unknown } | null }
  | { sdx: 1; kind: "evt"; type: string; payload?: Fields | null };

/** What one side does with the other's requests (resolves to the answer's payload) and events. */
export type RequestHandler = (type: string, payload: Fields) => unknown;
export type EventHandler = (type: string, payload: Fields) => void;

/** A relay session token and when it expires (unix seconds). */
export type Session = { token: string; expiresAt: number };

/** The init payload (protocol.js). `environment` and `deal` are the core's types: SdxSidebar checks them. */
export type HostContext = {
  protocol: 1;
  host: "demo" | "hubspot" | "salesforce" | "zoho" | "pipedrive";
  environment: Environment;
  relayUrl: string;
  tenant: string;
  deal: SidebarHostDeal;
  user?: { id?: string; email?: string; locale?: string };
  theme: "light" | "dark";
  session: Session;
};

export type HostEventType = "record.changed" | "visibility" | "theme.changed";
export type HostEventHandler = (payload: Fields) => void;

/** What every host adapter resolves to (hosts/connection.js); the shell uses nothing else of the host. */
export type HostConnection = {
  context: HostContext;
  on: (type: HostEventType, handler: HostEventHandler) => void;
  refreshSession: () => Promise<Session>;
  resize: (height: number) => void;
  toast: (level: "info" | "success" | "error", message: string) => void;
  /** https only; adapters refuse anything else. */
  openUrl: (url: string) => void;
};

/** The sidebar page's config.json (www/relay/sidebar-files.js). */
export type Settings = { relayUrl?: string; allowedHostOrigins?: string[] };

/** sidebar.js `el`: `on…` a listener; any other value an attribute (true: present, false/null/undefined: absent). */
export type AttributeValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attributes = {
  className?: string | null;
  text?: string | null;
  [key: `on${string}`]: ((event: Event) => void) | undefined;
  [key: string]: AttributeValue;
};
/** Nothing is added for a falsy child. */
export type Child = Node | string | false | null | undefined;

/**
 * What the page's early start (early.js) began before the page's module ran: the wasm's compile, the
 * hello to an sdx/1 host (again at its host.ready) with the messages that arrived since (kept unread,
 * at most 16), and the first-view request once the host's init arrived.
 */
export type EarlyStart = {
  messages: MessageEvent<Received>[];
  page: string;
  hello: boolean;
  /** Hellos said again at the host's `host.ready`, at most MAX_HELLO_REPEATS (protocol.js). */
  hellosRepeated: number;
  /** The host.ready events it answered (hosts/connection.js answers only the others). */
  answered: WeakSet<MessageEvent<Received>>;
  /** Whether an init from the host has arrived (kept for the module): no hello is said again after it. */
  initKept: boolean;
  wasm: Promise<WebAssembly.Module> | null;
  firstView: EarlyRequest | null;
  listener?: (event: MessageEvent<Received>) => void;
};
