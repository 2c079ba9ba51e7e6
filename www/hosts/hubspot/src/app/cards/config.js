// Where this HubSpot installation's card talks to. Set per environment before `hs project upload`;
// the relay origin must also be in app-hsmeta.json permittedUrls.fetch, the sidebar origin in
// permittedUrls.iframe. Nothing here is secret: the relay trusts HubSpot's request signature.
export const RELAY_URL = "https://relay.example.com";
export const ENVIRONMENT = "production";
export const SIDEBAR_URL = "https://relay.example.com/sidebar/index.html";
