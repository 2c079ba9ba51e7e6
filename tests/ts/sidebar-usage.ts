// Typed use of the sidebar's build (spotdraft-crm/sidebar): `tsc --strict` fails if its declarations
// degrade to `any` or stop matching how the shell calls it.
import { load, SdxSidebar } from "../../pkg/sidebar.js";
import type { SidebarEffect, SidebarMsg, SidebarOutput, SidebarView } from "../../pkg/sidebar.js";

export async function drive(relayUrl: string, token: string): Promise<SidebarView> {
  await load();
  const sidebar = new SdxSidebar({ environment: "uat", relayUrl, token, tzOffsetMinutes: 60 }, { id: "1001", name: "Acme renewal" });
  const output: SidebarOutput = sidebar.update({ type: "start" });
  for (const effect of output.effects) {
    const next: SidebarMsg | null = await sidebar.perform(effect);
    if (next) sidebar.update(next);
  }
  // A host that knows only the record id starts the sidebar with that; the core reads the deal itself.
  const idOnly = new SdxSidebar({ environment: "uat", relayUrl, token }, { id: "1001" });
  const loadDeal: SidebarEffect = { type: "loadDeal" };
  const loaded: SidebarMsg | null = await idOnly.perform(loadDeal);
  if (loaded) idOnly.update(loaded);
  idOnly.update({ type: "recordChanged" });
  idOnly.update({ type: "dealFailed", error: { code: "crm_error", message: "HubSpot: the deal does not exist", transient: false } });
  // @ts-expect-error: the host's deal needs its record id
  new SdxSidebar({ environment: "uat", relayUrl, token }, { name: "Acme renewal" });
  // @ts-expect-error: the environment is "uat" or "production"
  new SdxSidebar({ environment: "staging", relayUrl, token }, { id: "1", name: "x" });
  // @ts-expect-error: update takes a message object, not JSON text
  sidebar.update('{"type":"start"}');
  // @ts-expect-error: a view's phase is one of three words
  const phase: "idle" = sidebar.view().phase;
  void phase;
  return sidebar.view();
}
