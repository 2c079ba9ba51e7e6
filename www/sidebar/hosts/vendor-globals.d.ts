// Types only (never served: www/relay/sidebar-files.js lists what the page loads). The host SDKs the
// adapters call, declared for exactly what hosts/pipedrive.js and the Zoho widget (www/hosts/zoho/widget/src) use of them, so that
// `tsc -p tests/ts/tsconfig.shell.json` checks those calls. What an SDK answers is typed as unknown
// members: the adapters check every value before using it.

// ---- Pipedrive: @pipedrive/app-extensions-sdk (its UMD build defines globalThis.AppExtensionsSDK) ----

/** The SDK class: `new AppExtensionsSDK({ identifier, targetWindow }).initialize({ size })`. */
export interface PipedriveSdkClass {
  new (options: { identifier: string; targetWindow: Window }): {
    initialize(options: { size: { height: number } }): Promise<PipedriveSdk>;
  };
}

/** An initialised SDK (or a test's stand-in for one). */
export interface PipedriveSdk {
  /** A 5-minute JWT signed by Pipedrive; `token` is checked before use. */
  execute(command: "get_signed_token"): Promise<{ token?: unknown } | null | undefined>;
  /** Panel height, 100–750 px. */
  execute(command: "resize", args: { height: number }): Promise<unknown>;
  execute(command: "show_snackbar", args: { message: string }): Promise<unknown>;
  listen(event: "visibility", handler: (event?: PipedriveEvent<{ is_visible?: unknown }>) => void): unknown;
  listen(event: "user_settings_change", handler: (event?: PipedriveEvent<{ theme?: unknown }>) => void): unknown;
  readonly userSettings?: { theme?: unknown } | null;
}

/** What a listener receives: `error` on failure, else `data`. */
export interface PipedriveEvent<Data> {
  error?: unknown;
  data?: Data | null;
}

// ---- Zoho CRM: the embedded-app SDK (a classic script defining window.ZOHO) ----

export interface ZohoSdk {
  embeddedApp: {
    on(event: "PageLoad", handler: (data: ZohoPageLoad | undefined) => void): void;
    on(event: "ContextUpdate", handler: () => void): void;
    /** A promise in the released SDK; anything else is treated as started. */
    init(): unknown;
  };
  CRM: {
    FUNCTIONS: {
      /** Resolves to a `ZohoFunctionAnswer`, as JSON text or already parsed. */
      execute(name: string, params: { arguments: string }): unknown;
    };
    CONFIG?: {
      /** Resolves to a `ZohoUsersAnswer`, as JSON text or already parsed. */
      getCurrentUser?(): unknown;
    };
    UI: {
      Resize(size: { height: number; width: number | undefined }): unknown;
    };
  };
}

/** PageLoad's data: `Entity` ("Deals"), `EntityId` (a string on a related list, an array on a button). */
export interface ZohoPageLoad {
  Entity?: unknown;
  EntityId?: unknown;
}

/** `ZOHO.CRM.FUNCTIONS.execute`'s answer: `details.output` is the function's return value (text or parsed). */
export interface ZohoFunctionAnswer {
  code?: unknown;
  details?: { output?: unknown } | null;
}

/** What the Deluge function `spotdraft_relay_token` returns: a session, or an error. */
export interface ZohoSessionOutput {
  token?: unknown;
  expiresAt?: unknown;
  tenant?: unknown;
  error?: unknown;
}

/** `ZOHO.CRM.CONFIG.getCurrentUser()`'s answer. */
export interface ZohoUsersAnswer {
  users?: Array<{ id?: unknown; email?: unknown; locale?: unknown } | null | undefined> | null;
}

declare global {
  interface Window {
    /** Pipedrive's SDK class, once its UMD build has run. */
    AppExtensionsSDK?: PipedriveSdkClass;
    /** Zoho's SDK, once its script has run. */
    ZOHO?: ZohoSdk;
  }
  // The UMD build may define it on globalThis rather than on the window passed to connect().
  var AppExtensionsSDK: PipedriveSdkClass | undefined;
}
