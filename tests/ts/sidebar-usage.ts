// Typed use of the sidebar's build (spotdraft-crm/sidebar): `tsc --strict` fails if its declarations
// degrade to `any` or stop matching how the shell calls it.
import { load, SdxSidebar } from "../../pkg/sidebar.js";
import type { SidebarEffect, SidebarEvent, SidebarOutput, SidebarView } from "../../pkg/sidebar.js";

export async function drive(relayUrl: string, token: string, renew: () => Promise<string>): Promise<SidebarView> {
  await load();
  const sidebar = new SdxSidebar({ environment: "uat", relayUrl, token, tzOffsetMinutes: 60 }, { id: "1001", name: "Acme renewal" }, renew);
  let output: SidebarOutput = sidebar.update({ type: "start" });
  // The whole loop: events in, relay calls handed back by id, each answer applied inside.
  for (const effect of output.effects) {
    if (effect.type === "call") output = await sidebar.perform(effect.id);
  }
  // A host that knows only the record id starts the sidebar with that; the core reads the deal itself.
  const idOnly = new SdxSidebar({ environment: "uat", relayUrl, token, tzOffsetMinutes: null }, { id: "1001", name: null }, undefined);
  const changed: SidebarEvent = { type: "recordChanged" };
  idOnly.update(changed);
  const tick: SidebarEffect = { type: "scheduleTick", inMs: 3000 };
  void tick;
  // @ts-expect-error: relay answers are applied inside the sidebar, never handed in as events
  idOnly.update({ type: "dealFailed", error: { code: "crm_error", message: "HubSpot: the deal does not exist", transient: false } });
  // @ts-expect-error: a call is performed by the id the sidebar handed out, not described by the shell
  await sidebar.perform({ type: "loadDeal" });
  // @ts-expect-error: the host's deal needs its record id
  new SdxSidebar({ environment: "uat", relayUrl, token }, { name: "Acme renewal" }, undefined);
  // @ts-expect-error: the environment is "uat" or "production"
  new SdxSidebar({ environment: "staging", relayUrl, token }, { id: "1", name: "x" }, undefined);
  // @ts-expect-error: update takes an event object, not JSON text
  sidebar.update('{"type":"start"}');
  // @ts-expect-error: a view's phase is one of three words
  const phase: "idle" = sidebar.view().phase;
  void phase;
  return output.view;
}
