// Compiled with `tsc --strict --noEmit` by scripts/test.sh: proves the package's declarations are
// usable and precise. Every `@ts-expect-error` below fails the build if a type degrades to `any`.
import { load, SdxConfig, SpotDraftClient, verifyAndParseWebhook } from "../../pkg/index.js";
import type { ContractSummary, CreateOutcome, Preview, SdxError, TemplateMetadata, WebhookEvent } from "../../pkg/index.js";

export async function example(): Promise<string> {
  await load();
  const config = new SdxConfig({
    environment: "uat",
    crm: { host: "hubspot", accountId: "4411223" },
    api: { relayUrl: "https://relay.example.com" },
    creationStages: ["contractsent"],
    templates: [{ templateId: 101, label: "Mutual NDA", contractTypeId: 11, fields: [
      { variable: "effective_date", source: "deal.closeDate", encoding: "date" },
    ] }],
  });
  const metadata: TemplateMetadata = { attributes: [{ variable: "effective_date", type: "date" }] };
  const preview: Preview = config.preview({ id: "1001", name: "Acme" }, 101, metadata);
  const canCreate: boolean = preview.canCreate;
  // @ts-expect-error canCreate is a boolean
  const wrong: string = preview.canCreate;

  const client = new SpotDraftClient({ baseUrl: "http://127.0.0.1:8790" });
  const outcome: CreateOutcome = await client.createForDeal(config, { id: "1001", name: "Acme", stage: "contractsent" }, 101);
  const contract: ContractSummary = outcome.contract;
  // @ts-expect-error number is numeric
  const badNumber: string = contract.number;
  // @ts-expect-error the deal needs a name
  await client.createForDeal(config, { id: "1001" }, 101);

  const event: WebhookEvent = verifyAndParseWebhook(new Uint8Array(), "sig", "key");
  try {
    await client.status("T-1");
  } catch (raw) {
    const error = raw as SdxError;
    if (error.code === "spotdraft_error") return `${error.status}`;
    // @ts-expect-error not a code this package throws
    if (error.code === "oops") return "";
  }
  return `${canCreate}${wrong}${badNumber}${event.dedupeKey}${contract.link}`;
}
