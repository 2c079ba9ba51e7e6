// @ts-check
// The admin console: sign in with an environment's admin secret, choose the templates sellers may
// create and at which CRM stages, map each template variable to a CRM deal field or a constant, see
// the mapping on a real deal as it changes, and save it as a new version (or restore an old one).
//
// Every decision is the core's: the draft is read by the same configuration reader the relay runs and
// previewed by the same mapping code a create runs, here in the page's WebAssembly (pkg/); the relay
// checks the draft again when it is saved. This file only fetches, renders and forwards edits.
// Text from the relay, the CRM or SpotDraft is only ever set as textContent.
import { load, SdxConfig } from "./pkg/index.js";

/** @typedef {{ variable: string, source?: string, value?: unknown, encoding: string, unit?: string, options?: Record<string, string>, currency?: string }} FieldMapping */
/** @typedef {{ templateId: number, label: string, contractTypeId: number, fields: FieldMapping[], createAtStages?: string[], [key: string]: unknown }} TemplateSetup */
/** @typedef {{ creationStages: string[], stageLabels?: Record<string, string>, templates: TemplateSetup[], [key: string]: unknown }} Setup */
/** @typedef {import("./pkg/index.js").TemplateMetadata} TemplateMetadata */
/** @typedef {TemplateMetadata["attributes"][number]} Attribute */
/** @typedef {{ templateId: number, name: string, contractTypeId: number, offered: boolean, metadata: TemplateMetadata }} WorkspaceTemplate */
/** @typedef {{ value: string, label: string, pipeline?: string | null }} Stage */
/** @typedef {{ name: string, label: string, kind: string }} CrmField */
/** @typedef {{ crm: string, stages: Stage[], dealFields: CrmField[], companyFields: CrmField[], contactFields: CrmField[], standard: Array<{ source: string, crmField: string }> }} CrmSchema */
/** @typedef {{ path: string, message: string }} Problem */
/** @typedef {{ version: number, at: string | null, by: string | null, changes: string[], restoredFrom?: number }} Version */
/** @typedef {{ you: string, version: number, at: string | null, by: string | null, setup: Setup, plugin: Record<string, unknown>, inEffect: boolean }} SetupAnswer */

const ENCODINGS = ["string", "number", "boolean", "date", "datetime", "enum", "multiSelect", "currency", "duration", "address"];
const UNITS = ["DAYS", "MONTHS", "YEARS"];
// SpotDraft's composite values: mapped as one value on the parent variable (its children are filled from it).
const COMPOSITE = new Set(["currency", "duration", "address"]);
// Standard sources as sellers' deals carry them (the relay reads each from the CRM field its `standard` list names).
const SOURCE_GROUPS = [["deal.", "Deal"], ["account.", "Company"], ["contact.", "Primary contact"]];

const state = {
  env: "",
  secret: "",
  /** @type {SetupAnswer | null} */ saved: null,
  /** @type {Setup | null} */ draft: null,
  /** @type {WorkspaceTemplate[]} */ templates: [],
  /** @type {CrmSchema | null} */ crm: null,
  /** @type {Version[]} */ versions: [],
  /** @type {number | null} */ selected: null,
  /** @type {import("./pkg/index.js").DealInput | null} */ deal: null,
  /** The custom properties the loaded deal was read with. */ dealCustom: "",
  /** @type {Problem[]} */ saveProblems: [],
  /** Why the CRM's stages and fields could not be read, if they could not. */ crmProblem: "",
  /** A restore asked for while there are unsaved edits: the second click confirms it. */ confirmRestore: -1,
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * An element with attributes (`on…` functions become listeners) and children (strings become text).
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes]
 * @param {...(Node | string | null | undefined | false)} children
 */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else if (name === "text") element.textContent = String(value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

function announce(/** @type {string} */ message) {
  $("status").textContent = message;
}

class RelayError extends Error {
  /** @param {string} message @param {number} status @param {Problem[]} problems */
  constructor(message, status, problems) {
    super(message);
    this.status = status;
    this.problems = problems;
  }
}

/** One admin route of the signed-in environment. */
async function call(/** @type {string} */ method, /** @type {string} */ route, /** @type {unknown} */ body = undefined) {
  const url = new URL(`../admin/${state.env}/${route}`, location.href);
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${state.secret}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const error = answer?.error;
    throw new RelayError(error?.message ?? `The relay answered ${response.status}.`, response.status, error?.problems ?? []);
  }
  return answer;
}

// ------------------------------------------------------------------------------------------------
// Sign in

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const secret = /** @type {HTMLInputElement} */ ($("secret"));
  const error = $("secret-error");
  state.env = /** @type {HTMLSelectElement} */ ($("environment")).value;
  state.secret = secret.value.trim();
  error.hidden = true;
  secret.removeAttribute("aria-invalid");
  if (!state.secret) return fieldError(secret, error, "Enter the admin secret of this environment.");
  try {
    announce("Signing in…");
    // The secret is checked by the first call alone; the rest are read together once it is good.
    const saved = await call("GET", "setup");
    const [templates, crm, versions] = await Promise.all([
      call("GET", "templates"),
      // Without the CRM's stages and fields the setup can still be edited (with the values it has).
      call("GET", "crm").catch((/** @type {unknown} */ failure) => ({ unavailable: failure instanceof Error ? failure.message : String(failure) })),
      call("GET", "versions"),
      load(),
    ]);
    state.saved = saved;
    state.templates = templates.templates;
    state.crm = "unavailable" in crm ? null : crm;
    state.crmProblem = "unavailable" in crm ? crm.unavailable : "";
    state.versions = versions.versions;
    state.draft = structuredClone(saved.setup);
    state.selected = state.draft?.templates[0]?.templateId ?? null;
  } catch (failure) {
    const status = failure instanceof RelayError ? failure.status : 0;
    const message = status === 401 ? "That is not an admin secret of this environment." :
      status === 403 ? "This environment has no admin secrets configured: add admins to the relay's configuration." :
      `The console could not load: ${failure instanceof Error ? failure.message : String(failure)}`;
    return fieldError(secret, error, message);
  }
  secret.value = "";
  $("sign-in").hidden = true;
  const signedIn = $("signed-in");
  signedIn.hidden = false;
  signedIn.textContent = `${state.env === "uat" ? "UAT" : "Production"} · signed in as ${state.saved?.you ?? "admin"}`;
  renderWorkspace();
  $("title").focus();
  announce("Signed in.");
});

function fieldError(/** @type {HTMLElement} */ input, /** @type {HTMLElement} */ error, /** @type {string} */ message) {
  error.textContent = message;
  error.hidden = false;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

// ------------------------------------------------------------------------------------------------
// The workspace: stages, templates, mapping, preview, save, history

function renderWorkspace() {
  const workspace = $("workspace");
  workspace.hidden = false;
  workspace.replaceChildren(
    stagesSection(),
    templatesSection(),
    h("section", { id: "mapping", "aria-labelledby": "mapping-title" }),
    saveSection(),
    h("section", { id: "history", "aria-labelledby": "history-title" }),
  );
  renderMapping();
  renderHistory();
  refresh();
}

/** The CRM's stages, or (when they could not be read) the ones the setup names. */
function knownStages() {
  if (state.crm) return state.crm.stages;
  const draft = state.draft;
  const values = new Set([...(draft?.creationStages ?? []), ...Object.keys(draft?.stageLabels ?? {})]);
  return [...values].map((value) => ({ value, label: draft?.stageLabels?.[value] ?? value, pipeline: null }));
}

const stageLabel = (/** @type {string} */ value) => state.crm?.stages.find((s) => s.value === value)?.label ?? state.draft?.stageLabels?.[value] ?? value;

/** Checkboxes over the CRM's stages, checked when `chosen` has them; `onChange` gets the new list in the CRM's order. */
function stageChoices(/** @type {string} */ name, /** @type {string[]} */ chosen, /** @type {(list: string[]) => void} */ onChange, /** @type {Stage[]} */ stages) {
  const box = h("div", { class: "choices" });
  // The pipeline is named only when there are several.
  const pipelines = new Set(knownStages().map((s) => s.pipeline ?? ""));
  for (const stage of stages) {
    const id = `${name}-${stage.value}`;
    const input = h("input", {
      type: "checkbox", id, value: stage.value, checked: chosen.includes(stage.value),
      onchange: () => {
        const list = [...box.querySelectorAll("input:checked")].map((i) => /** @type {HTMLInputElement} */ (i).value);
        onChange(list);
      },
    });
    box.append(h("label", { for: id }, input, stage.pipeline && pipelines.size > 1 ? `${stage.label} (${stage.pipeline})` : stage.label));
  }
  return box;
}

function stagesSection() {
  const draft = /** @type {Setup} */ (state.draft);
  const stages = knownStages();
  return h("section", { "aria-labelledby": "stages-title" },
    h("h2", { id: "stages-title" }, "Stages"),
    state.crm
      ? h("p", { class: "hint" }, `From ${crmName()}'s deal pipelines. Sellers may create contracts only at the stages checked here.`)
      : h("p", { class: "error", role: "alert" }, `The CRM's stages and fields could not be read (${state.crmProblem}); the setup's own values are shown. Sign in again to retry.`),
    h("fieldset", {},
      h("legend", {}, "Sellers may create contracts at"),
      stageChoices("creation", draft.creationStages, (list) => {
        draft.creationStages = list;
        // The label sellers read in every message about stages: the CRM's own.
        draft.stageLabels = { ...(draft.stageLabels ?? {}) };
        for (const value of list) draft.stageLabels[value] ??= stageLabel(value);
        renderMapping();
        edited();
      }, stages),
      problemSlot("creationStages")));
}

function crmName() {
  return { hubspot: "HubSpot", salesforce: "Salesforce", zoho: "Zoho CRM", pipedrive: "Pipedrive" }[state.crm?.crm ?? ""] ?? "the CRM";
}

function templatesSection() {
  const draft = /** @type {Setup} */ (state.draft);
  const missing = draft.templates.filter((t) => !state.templates.some((w) => w.templateId === t.templateId));
  const rows = [...state.templates, ...missing.map((t) => ({ templateId: t.templateId, name: `${t.label} (not in this workspace)`, contractTypeId: t.contractTypeId, offered: true, metadata: { attributes: [] } }))].map((template) => {
    const offered = draft.templates.some((t) => t.templateId === template.templateId);
    const id = `offer-${template.templateId}`;
    return h("tr", {},
      h("td", {}, h("label", { for: id }, template.name), h("span", { class: "variable-name" }, `Template ${template.templateId}`)),
      h("td", {}, h("input", {
        type: "checkbox", id, checked: offered,
        onchange: (/** @type {Event} */ event) => {
          const on = /** @type {HTMLInputElement} */ (event.target).checked;
          if (on) {
            draft.templates.push({ templateId: template.templateId, label: template.name, contractTypeId: template.contractTypeId, fields: [] });
            state.selected = template.templateId;
          } else {
            draft.templates = draft.templates.filter((t) => t.templateId !== template.templateId);
            if (state.selected === template.templateId) state.selected = draft.templates[0]?.templateId ?? null;
          }
          renderEditButtons();
          renderMapping();
          edited();
        },
      })),
      h("td", { "data-edit": template.templateId }));
  });
  const section = h("section", { "aria-labelledby": "templates-title" },
    h("h2", { id: "templates-title" }, "Templates"),
    h("p", { class: "hint" }, "SpotDraft's templates in this environment's workspace. Sellers choose among the offered ones."),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Template"), h("th", { scope: "col" }, "Offered"), h("th", { scope: "col" }, "Mapping"))),
      h("tbody", {}, ...rows))),
    problemSlot("templates"));
  queueMicrotask(renderEditButtons);
  return section;
}

function renderEditButtons() {
  const draft = /** @type {Setup} */ (state.draft);
  for (const cell of document.querySelectorAll("[data-edit]")) {
    const templateId = Number(cell.getAttribute("data-edit"));
    const offered = draft.templates.some((t) => t.templateId === templateId);
    const name = state.templates.find((t) => t.templateId === templateId)?.name ?? String(templateId);
    cell.replaceChildren(offered ? h("button", {
      type: "button", class: "secondary", "aria-pressed": String(state.selected === templateId), "aria-label": `Edit the mapping of ${name}`,
      onclick: () => {
        state.selected = templateId;
        renderEditButtons();
        renderMapping();
        refresh();
        $("mapping-title").focus();
      },
    }, state.selected === templateId ? "Editing" : "Edit mapping") : "");
  }
}

/** The rows of a template's variables: composite values (currency, duration, address) as one row on their parent. */
function variableRows(/** @type {Attribute[]} */ attributes) {
  /** @type {Array<{ variable: string, label: string, type: string, required: boolean, options?: Attribute["options"] }>} */
  const rows = [];
  for (const attribute of attributes) {
    const parent = attribute.parent_variable;
    if (parent && COMPOSITE.has(attribute.parent_type ?? "")) {
      if (!rows.some((r) => r.variable === parent)) {
        rows.push({ variable: parent, label: labelOfParent(attributes, parent), type: attribute.parent_type ?? "", required: attribute.parent_required === true });
      }
      continue;
    }
    const required = (attribute.required ?? true) && (!parent || attribute.parent_required === true);
    rows.push({ variable: attribute.variable, label: attribute.display_label ?? attribute.variable, type: attribute.type, required, options: attribute.options });
  }
  return rows;
}

function labelOfParent(/** @type {Attribute[]} */ attributes, /** @type {string} */ parent) {
  const first = attributes.find((a) => a.parent_variable === parent)?.display_label ?? parent;
  // "Contract value amount" / "Term unit" → the words the children share.
  return first.replace(/\s+(amount|currency|unit|length|in days|value|line one|city)$/i, "") || parent;
}

function defaultEncoding(/** @type {string} */ type) {
  const byType = /** @type {Record<string, string>} */ ({
    date: "date", datetime: "datetime", int: "number", float: "number", number: "number", boolean: "boolean", enum: "enum",
    dropdown: "enum", "array of options": "multiSelect", currency: "currency", duration: "duration", address: "address",
  });
  return byType[type] ?? "string";
}

function renderMapping() {
  const section = $("mapping");
  const draft = /** @type {Setup} */ (state.draft);
  const index = draft.templates.findIndex((t) => t.templateId === state.selected);
  const template = draft.templates[index];
  const workspaceTemplate = state.templates.find((t) => t.templateId === state.selected);
  if (!template || !workspaceTemplate) {
    section.replaceChildren(h("h2", { id: "mapping-title", tabindex: "-1" }, "Mapping"), h("p", { class: "hint" }, "Offer a template to map its variables."));
    return;
  }
  const labelId = `label-${template.templateId}`;
  const known = variableRows(workspaceTemplate.metadata.attributes);
  const rows = known.map((row) => variableRow(template, index, row));
  // A mapping for a variable the template no longer has: shown, with its problem, so it can be removed.
  for (const field of template.fields.filter((f) => !known.some((r) => r.variable === f.variable))) {
    rows.push(h("tr", { "data-variable": field.variable, id: `row-${field.variable}` },
      h("td", {}, h("div", { class: "cell" }, h("strong", {}, field.variable), h("span", { class: "hint" }, "Not a variable of this template."))),
      h("td", {}, h("div", { class: "cell" }, h("span", {}, field.source ?? "a constant"), h("p", { class: "error", id: `problem-var-${field.variable}`, hidden: true }))),
      h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": `Remove the mapping of ${field.variable}`, onclick: () => {
        template.fields = template.fields.filter((f) => f !== field);
        renderMapping();
        edited();
      } }, "Remove")),
      h("td", {}, h("div", { class: "cell value", "data-preview": field.variable }, "—"))));
  }
  section.replaceChildren(
    h("h2", { id: "mapping-title", tabindex: "-1" }, `Mapping: ${workspaceTemplate.name}`),
    h("div", { class: "field" },
      h("label", { for: labelId }, "Name sellers see"),
      h("input", { type: "text", id: labelId, value: template.label, "aria-describedby": `problem-templates[${index}].label`,
        oninput: (/** @type {Event} */ e) => { template.label = /** @type {HTMLInputElement} */ (e.target).value; edited(); } }),
      problemSlot(`templates[${index}].label`)),
    h("fieldset", {},
      h("legend", {}, "Create automatically, without a click, when a deal reaches"),
      h("p", { class: "hint" }, "Optional. Only stages at which sellers may create can be chosen."),
      stageChoices(`auto-${template.templateId}`, template.createAtStages ?? [], (list) => {
        if (list.length) template.createAtStages = list;
        else delete template.createAtStages;
        edited();
      // The stages sellers may create at, and any the template still names (so a problem with one can be undone).
      }, knownStages().filter((s) => draft.creationStages.includes(s.value) || (template.createAtStages ?? []).includes(s.value))),
      problemSlot(`templates[${index}].createAtStages`)),
    h("h3", {}, "Template variables"),
    h("p", { class: "hint" }, "Each variable comes from a deal field or a constant. Required variables that nothing fills are flagged; the last column is the chosen deal's value."),
    h("div", { class: "table-wrap" }, h("table", { id: "variables" },
      h("caption", { class: "visually-hidden" }, `Variables of ${workspaceTemplate.name}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Variable"), h("th", { scope: "col" }, "Comes from"), h("th", { scope: "col" }, "Encoding"),
        h("th", { scope: "col" }, "Preview"))),
      h("tbody", {}, ...rows))),
    problemSlot(`templates[${index}].fields`),
    previewControls(),
  );
}

/** The options of the "comes from" select: not filled, a constant, the standard deal values, and the CRM's deal fields. */
function sourceOptions(/** @type {string} */ current) {
  const crm = state.crm ?? { crm: "", stages: [], dealFields: [], companyFields: [], contactFields: [], standard: [] };
  const options = [h("option", { value: "" }, "Not filled"), h("option", { value: "constant" }, "A constant value")];
  for (const [prefix, title] of SOURCE_GROUPS) {
    const group = h("optgroup", { label: title });
    for (const { source, crmField } of crm.standard.filter((s) => s.source.startsWith(prefix))) {
      group.append(h("option", { value: source }, crmField ? `${source} · ${crmField}` : source));
    }
    options.push(group);
  }
  const standardFields = new Set(crm.standard.map((s) => s.crmField));
  const custom = h("optgroup", { label: `${crmName()} deal fields` });
  for (const field of crm.dealFields.filter((f) => !standardFields.has(f.name) && !f.name.startsWith("spotdraft_"))) {
    custom.append(h("option", { value: `custom.${field.name}` }, `${field.label} (${field.name})`));
  }
  options.push(custom);
  // A source the CRM no longer lists stays choosable, so a saved mapping is never silently changed.
  if (current && current !== "constant" && !options.some((o) => o instanceof HTMLOptionElement ? o.value === current : [...o.children].some((c) => /** @type {HTMLOptionElement} */ (c).value === current))) {
    options.push(h("option", { value: current }, `${current} (not found in ${crmName()})`));
  }
  return options;
}

function variableRow(/** @type {TemplateSetup} */ template, /** @type {number} */ index, /** @type {{ variable: string, label: string, type: string, required: boolean }} */ row) {
  const key = row.variable;
  const fieldIndex = () => template.fields.findIndex((f) => f.variable === key);
  const mapping = () => template.fields[fieldIndex()];
  const sourceId = `source-${key}`;
  const encodingId = `encoding-${key}`;
  const valueId = `value-${key}`;
  const unitId = `unit-${key}`;
  const current = mapping();
  const currentSource = current ? (current.source ?? "constant") : "";
  const repeating = row.type === "repeating";

  const source = /** @type {HTMLSelectElement} */ (h("select", { id: sourceId, disabled: repeating, "aria-describedby": `problem-var-${key}` }, ...sourceOptions(currentSource)));
  source.value = currentSource;
  const encoding = /** @type {HTMLSelectElement} */ (h("select", { id: encodingId, disabled: !current }, ...ENCODINGS.map((e) => h("option", { value: e }, e))));
  encoding.value = current?.encoding ?? defaultEncoding(row.type);
  const constant = /** @type {HTMLInputElement} */ (h("input", { type: "text", id: valueId, value: current && current.source === undefined ? constantText(current.value) : "" }));
  const constantLabel = h("label", { for: valueId, class: "visually-hidden" }, `Constant value of ${row.label}`);
  const unit = /** @type {HTMLSelectElement} */ (h("select", { id: unitId }, ...UNITS.map((u) => h("option", { value: u }, u.toLowerCase()))));
  unit.value = current?.unit ?? "MONTHS";
  const unitLabel = h("label", { for: unitId }, "Counted in");

  const showExtras = () => {
    const m = mapping();
    constant.hidden = constantLabel.hidden = !(m && m.source === undefined);
    unit.hidden = unitLabel.hidden = !(m && m.encoding === "duration");
    encoding.disabled = !m;
  };
  const edit = () => {
    const chosen = source.value;
    const i = fieldIndex();
    if (chosen === "") {
      if (i >= 0) template.fields.splice(i, 1);
    } else {
      // Keep what the console does not edit (options, currency) on an existing mapping.
      const { source: _s, value: _v, ...rest } = i >= 0 ? template.fields[i] : { variable: key, encoding: encoding.value };
      /** @type {FieldMapping} */
      const next = { ...rest, variable: key, encoding: encoding.value };
      // Settings that belong to another encoding go with it (the core refuses them otherwise).
      if (!["enum", "multiSelect"].includes(encoding.value)) delete next.options;
      if (encoding.value !== "currency") delete next.currency;
      if (chosen === "constant") next.value = constantValue(constant.value, encoding.value);
      else next.source = chosen;
      if (encoding.value === "duration") next.unit = unit.value;
      else delete next.unit;
      if (i >= 0) template.fields[i] = next;
      else template.fields.push(next);
    }
    showExtras();
    edited();
  };
  source.addEventListener("change", edit);
  encoding.addEventListener("change", edit);
  constant.addEventListener("input", edit);
  unit.addEventListener("change", edit);
  showExtras();

  return h("tr", { "data-variable": key, id: `row-${key}` },
    h("td", {}, h("div", { class: "cell" },
      h("label", { for: sourceId }, h("strong", {}, row.label)),
      h("span", { class: "variable-name" }, h("code", {}, key), ` · ${row.type}`),
      row.required ? h("span", { class: "badge required" }, "Required") : h("span", { class: "badge" }, "Optional"),
      repeating ? h("span", { class: "hint" }, "A repeating table: filled in SpotDraft.") : null)),
    h("td", {}, h("div", { class: "cell" }, source, constantLabel, constant, h("p", { class: "error", id: `problem-var-${key}`, hidden: true }))),
    h("td", {}, h("div", { class: "cell" }, h("label", { for: encodingId, class: "visually-hidden" }, `Encoding of ${row.label}`), encoding, unitLabel, unit)),
    h("td", {}, h("div", { class: "cell value", "data-preview": key }, "—")));
}

function constantText(/** @type {unknown} */ value) {
  return typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);
}

/** A constant as the encoding takes it: numbers and true/false as JSON, lists and objects (a
 * multi-select's options, an address) as JSON when they read as such, everything else as typed. */
function constantValue(/** @type {string} */ text, /** @type {string} */ encoding) {
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      // Not JSON: kept as typed, and the core says what is wrong with it.
    }
  }
  if (["number", "duration"].includes(encoding) && trimmed !== "" && Number.isFinite(Number(trimmed))) return Number(trimmed);
  if (encoding === "boolean" && /^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === "true";
  return text;
}

function previewControls() {
  return h("div", { class: "preview-controls" },
    h("h3", {}, "Preview on a deal"),
    h("form", { class: "row", novalidate: true, onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); findDeals(); } },
      h("div", { class: "field" },
        h("label", { for: "deal-query" }, `Find a ${crmName()} deal by name`),
        h("input", { type: "search", id: "deal-query", autocomplete: "off", "aria-describedby": "deal-query-error" })),
      h("button", { type: "submit", class: "secondary" }, "Find")),
    h("p", { id: "deal-query-error", class: "error", hidden: true }),
    h("ul", { id: "deal-results", class: "deal-results", "aria-label": "Deals found", hidden: true }),
    h("form", { class: "row", novalidate: true, onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); loadDeal(); } },
      h("div", { class: "field" },
        h("label", { for: "deal-id" }, `${crmName()} deal id`),
        h("input", { type: "text", id: "deal-id", inputmode: "numeric", autocomplete: "off", value: String(state.deal?.id ?? ""), "aria-describedby": "deal-error" })),
      h("button", { type: "submit" }, "Preview on this deal")),
    h("p", { id: "deal-error", class: "error", hidden: true }),
    h("div", { id: "preview-summary", "aria-live": "polite" }));
}

/** Deals whose name contains what the admin typed, from the CRM through the relay; each picks itself. */
async function findDeals() {
  const input = /** @type {HTMLInputElement} */ ($("deal-query"));
  const error = $("deal-query-error");
  const list = $("deal-results");
  const text = input.value.trim();
  error.hidden = true;
  input.removeAttribute("aria-invalid");
  if (text.length < 2) return fieldError(input, error, "Type at least two letters of the deal's name.");
  try {
    const answer = await call("GET", `deals?q=${encodeURIComponent(text)}`);
    /** @type {Array<{ id: string, name: string, stage: string | null, stageLabel: string | null }>} */
    const deals = answer.deals ?? [];
    list.replaceChildren(...deals.map((deal) => h("li", {}, h("button", {
      type: "button", class: "secondary",
      onclick: () => loadDeal(deal.id),
    }, deal.stageLabel ? `${deal.name} · ${deal.stageLabel}` : deal.name))));
    list.hidden = deals.length === 0;
    if (deals.length === 0) fieldError(input, error, `No ${crmName()} deal's name contains "${text}".`);
    announce(deals.length === 0 ? "No deals found." : `${deals.length} deal${deals.length === 1 ? "" : "s"} found.`);
  } catch (failure) {
    fieldError(input, error, `The deals could not be searched: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** The custom deal properties the draft maps: the relay reads exactly these with the deal. */
function customSources() {
  const names = new Set();
  for (const template of state.draft?.templates ?? []) {
    for (const field of template.fields) if (field.source?.startsWith("custom.")) names.add(field.source.slice("custom.".length));
  }
  return [...names].sort().join(",");
}

/** Reads the deal to preview on: the one typed, or `id` (the same deal again, with new custom properties). */
async function loadDeal(/** @type {string | undefined} */ id = undefined) {
  const input = /** @type {HTMLInputElement | null} */ (document.getElementById("deal-id"));
  const error = document.getElementById("deal-error");
  if (!input || !error) return;
  if (id !== undefined) input.value = id;
  id = input.value.trim();
  error.hidden = true;
  input.removeAttribute("aria-invalid");
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return fieldError(input, error, "Enter the id of a deal in the CRM (the number in the deal's URL).");
  try {
    const custom = customSources();
    const answer = await call("GET", `deal?id=${encodeURIComponent(id)}${custom ? `&custom=${encodeURIComponent(custom)}` : ""}`);
    state.deal = answer.deal;
    state.dealCustom = custom;
    announce(`Previewing on ${answer.deal.name ?? id}.`);
    refresh();
  } catch (failure) {
    fieldError(input, error, failure instanceof RelayError && failure.status === 404 ? `There is no deal ${id} in ${crmName()}.` : `The deal could not be read: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

// ------------------------------------------------------------------------------------------------
// Checking and previewing the draft (the core, in this page)

/** The draft in the plugin block it runs in, read by the core: the configuration, or every problem. */
function readDraft() {
  // The whole block as the relay will read it; the core says what is wrong with it, if anything.
  const document = /** @type {import("./pkg/index.js").ConfigDocument} */ (/** @type {unknown} */ ({ ...(state.saved?.plugin ?? {}), ...state.draft }));
  try {
    return { config: new SdxConfig(document), problems: [] };
  } catch (error) {
    return { config: null, problems: /** @type {Problem[]} */ (/** @type {any} */ (error).problems ?? [{ path: "", message: String(error) }]) };
  }
}

/** After any edit: the last save's refusal described the draft as it was, so it is dropped. */
function edited() {
  state.saveProblems = [];
  state.confirmRestore = -1;
  refresh();
}

/** Shows the problems at `path` (and below it) in the slot made for it. */
function problemSlot(/** @type {string} */ path) {
  return h("p", { class: "error", id: `problem-${path}`, "data-problem-path": path, hidden: true });
}

function refresh() {
  if (!state.draft) return;
  // Re-read the deal (after this render) when the draft maps a custom property it was not read with.
  if (state.deal && customSources() !== state.dealCustom) {
    state.dealCustom = customSources();
    queueMicrotask(() => loadDeal(String(state.deal?.id ?? "")));
  }
  const { config, problems } = readDraft();
  const all = [...problems, ...state.saveProblems.map((p) => ({ path: p.path.replace(/^setup\./, ""), message: p.message }))];
  const index = state.draft.templates.findIndex((t) => t.templateId === state.selected);
  const template = state.draft.templates[index];
  const workspaceTemplate = state.templates.find((t) => t.templateId === state.selected);
  // Each configuration problem next to what it concerns: a variable's row, else the nearest slot.
  for (const slot of document.querySelectorAll("[data-problem-path]")) {
    const path = slot.getAttribute("data-problem-path") ?? "";
    const mine = all.filter((p) => p.path === path || (p.path.startsWith(`${path}[`) && !rowOf(p.path, index)) || (p.path.startsWith(`${path}.`) && !rowOf(p.path, index)));
    // A problem further down than the slot says where (another template's field, say).
    setProblems(/** @type {HTMLElement} */ (slot), mine.map((p) => (p.path === path ? p.message : `${p.path}: ${p.message}`)));
  }
  let required = /** @type {string[]} */ ([]);
  let preview = null;
  if (config && template && workspaceTemplate) {
    required = config.requiredUnmapped(template.templateId, workspaceTemplate.metadata);
    if (state.deal) preview = config.preview(state.deal, template.templateId, workspaceTemplate.metadata);
  }
  for (const row of document.querySelectorAll("#variables tr[data-variable]")) {
    const variable = row.getAttribute("data-variable") ?? "";
    const messages = all.filter((p) => rowOf(p.path, index) === variable).map((p) => p.message);
    if (required.some((v) => v === variable || v.startsWith(`${variable}.`))) messages.push("Required, and nothing fills it.");
    const previewProblems = (preview?.problems ?? []).filter((p) => p.path === `contract_data.${variable}` || p.path.startsWith(`contract_data.${variable}.`));
    setProblems(/** @type {HTMLElement} */ (row.querySelector(`[id="problem-var-${variable}"]`)), messages);
    const cell = /** @type {HTMLElement} */ (row.querySelector("[data-preview]"));
    const field = preview?.fields.find((f) => f.variable === variable);
    if (!state.deal) cell.textContent = "—";
    else if (previewProblems.length) cell.textContent = previewProblems.map((p) => p.message).join(" ");
    else if (field) cell.textContent = field.value === null ? "(the deal has no value)" : JSON.stringify(field.value);
    else cell.textContent = "not filled";
    row.classList.toggle("has-problem", messages.length > 0 || previewProblems.length > 0);
  }
  renderPreviewSummary(preview, config ? [] : problems);
  // What no setting on the page shows (e.g. a file key the saved setup no longer fits): said here.
  const shown = new Set([...document.querySelectorAll("[data-problem-path]")].map((slot) => slot.getAttribute("data-problem-path")));
  const elsewhere = all.filter((p) => !rowOf(p.path, index) && ![...shown].some((path) => path && (p.path === path || p.path.startsWith(`${path}[`) || p.path.startsWith(`${path}.`))));
  const general = document.getElementById("general-problems");
  if (general) {
    general.replaceChildren(...elsewhere.map((p) => h("li", {}, p.path ? `${p.path}: ${p.message}` : p.message)));
    general.hidden = elsewhere.length === 0;
  }
  const save = /** @type {HTMLButtonElement | null} */ (document.getElementById("save"));
  if (save) save.disabled = !config;
}

/** The row variable a problem path concerns (`templates[i].fields[j]…` of the selected template). */
function rowOf(/** @type {string} */ path, /** @type {number} */ index) {
  const match = /^templates\[(\d+)\]\.fields\[(\d+)\]/.exec(path);
  if (!match || Number(match[1]) !== index) return null;
  return state.draft?.templates[index]?.fields[Number(match[2])]?.variable ?? null;
}

function setProblems(/** @type {HTMLElement | null} */ slot, /** @type {string[]} */ messages) {
  if (!slot) return;
  slot.textContent = messages.join(" ");
  slot.hidden = messages.length === 0;
}

function renderPreviewSummary(/** @type {any} */ preview, /** @type {Problem[]} */ draftProblems) {
  const box = document.getElementById("preview-summary");
  if (!box) return;
  if (draftProblems.length) {
    box.replaceChildren(h("p", { class: "error" }, "The draft has problems (shown next to each setting); fix them to see the preview."));
    return;
  }
  if (!state.deal || !preview) {
    box.replaceChildren(h("p", { class: "hint" }, "Choose a deal to see what a seller's Create would send from it."));
    return;
  }
  const stageProblem = preview.problems.find((/** @type {Problem} */ p) => p.path === "deal.stage");
  box.replaceChildren(...[
    h("p", {}, `Deal: ${state.deal.name ?? state.deal.id} · stage ${stageLabel(String(state.deal.stage ?? ""))}`),
    preview.canCreate
      ? h("p", { class: "ok" }, "A seller could create this contract from this deal now.")
      : h("p", { class: "error" }, `A seller could not create from this deal yet: ${preview.problems.length} problem${preview.problems.length === 1 ? "" : "s"}.`),
    stageProblem ? h("p", { class: "error" }, stageProblem.message) : null,
    // What no variable's row shows (the counterparty from the deal's company and contact, say).
    ...preview.problems
      .filter((/** @type {Problem} */ p) => p.path !== "deal.stage" && !p.path.startsWith("contract_data."))
      .map((/** @type {Problem} */ p) => h("p", { class: "error" }, p.message)),
    ...preview.warnings.map((/** @type {Problem} */ w) => h("p", { class: "hint" }, w.message)),
  ].filter((node) => node !== null));
}

// ------------------------------------------------------------------------------------------------
// Saving and history

function saveSection() {
  return h("section", { "aria-labelledby": "save-title" },
    h("h2", { id: "save-title" }, "Save"),
    h("p", { class: "hint" }, "The relay checks the setup again, keeps it as a new version (who, when, what changed) and uses it for the next seller's action, with no restart."),
    h("ul", { id: "general-problems", class: "error", hidden: true }),
    h("div", { id: "save-result", tabindex: "-1" }),
    h("button", { type: "button", id: "save", onclick: save }, "Save this setup"));
}

async function save() {
  const result = $("save-result");
  const button = /** @type {HTMLButtonElement} */ ($("save"));
  button.disabled = true;
  try {
    const answer = await call("POST", "setup", { setup: state.draft, basedOn: state.saved?.version ?? 0 });
    state.saveProblems = [];
    await reloadSaved();
    result.replaceChildren(h("div", { class: "summary saved", role: "alert" },
      answer.unchanged ? h("p", {}, "Nothing changed since the version in effect.") : h("p", {}, `Saved as version ${answer.version}. Sellers' next actions use it.`),
      answer.changes?.length ? h("ul", { class: "changes" }, ...answer.changes.map((/** @type {string} */ c) => h("li", {}, c))) : null));
    announce(answer.unchanged ? "Nothing to save." : `Saved version ${answer.version}.`);
  } catch (failure) {
    const problems = failure instanceof RelayError ? failure.problems : [];
    state.saveProblems = problems;
    const message = failure instanceof RelayError && failure.status === 409 ? failure.message : "The setup was not saved:";
    result.replaceChildren(h("div", { class: "summary", role: "alert" },
      h("p", {}, message),
      problems.length ? h("ul", {}, ...problems.map((p) => h("li", {}, `${p.path.replace(/^setup\./, "")}: ${p.message}`))) : h("p", {}, failure instanceof Error ? failure.message : String(failure)),
      failure instanceof RelayError && failure.status === 409 ? h("button", { type: "button", class: "secondary", onclick: async () => { await reloadSaved(true); result.replaceChildren(); } }, "Load the newest version") : null));
    result.focus();
  } finally {
    refresh();
  }
}

/** Reads the setup in effect and the history again; with `replaceDraft`, edits start over from it. */
async function reloadSaved(replaceDraft = false) {
  const [saved, versions] = await Promise.all([call("GET", "setup"), call("GET", "versions")]);
  state.saved = saved;
  state.versions = versions.versions;
  if (replaceDraft) {
    state.draft = structuredClone(saved.setup);
    if (!state.draft?.templates.some((t) => t.templateId === state.selected)) state.selected = state.draft?.templates[0]?.templateId ?? null;
    renderWorkspace();
  } else {
    renderHistory();
  }
}

/** JSON with every object's keys in order, so two setups compare by content (the relay sorts keys). */
function canonical(/** @type {unknown} */ value) {
  return JSON.stringify(value, (_key, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

function renderHistory() {
  const current = state.saved?.version ?? 0;
  // The newest version, unless this relay could not use it (then the one before it still runs).
  const running = state.saved && !state.saved.inEffect ? -1 : current;
  const rows = state.versions.map((version) => h("tr", {},
    h("td", {}, String(version.version), version.version === running ? h("span", { class: "badge" }, "in effect") : null,
      version.version === current && running === -1 ? h("span", { class: "badge required" }, "saved, not in effect") : null),
    h("td", {}, version.at ? new Date(version.at).toLocaleString() : "—"),
    h("td", {}, version.by ?? "the configuration file"),
    h("td", {}, h("ul", { class: "changes" }, ...(version.changes ?? []).map((c) => h("li", {}, c)),
      version.restoredFrom !== undefined ? h("li", {}, `restored version ${version.restoredFrom}`) : null)),
    h("td", {}, version.version === current ? "" : h("button", {
      type: "button", class: "secondary", "data-restore": version.version,
      "aria-label": state.confirmRestore === version.version ? `Discard my unsaved edits and restore version ${version.version}` : `Restore version ${version.version}`,
      onclick: async () => {
        if (canonical(state.draft) !== canonical(state.saved?.setup) && state.confirmRestore !== version.version) {
          state.confirmRestore = version.version;
          renderHistory();
          /** @type {HTMLElement | null} */ (document.querySelector(`[data-restore="${version.version}"]`))?.focus();
          return;
        }
        try {
          const answer = await call("POST", "rollback", { version: version.version, basedOn: current });
          await reloadSaved(true);
          $("save-result").replaceChildren(h("div", { class: "summary saved", role: "alert" }, h("p", {}, `Version ${version.version} restored as version ${answer.version}.`)));
          $("save-result").focus();
        } catch (failure) {
          $("save-result").replaceChildren(h("div", { class: "summary", role: "alert" }, h("p", {}, failure instanceof Error ? failure.message : String(failure))));
        }
      },
    }, state.confirmRestore === version.version ? "Discard my edits and restore" : "Restore"))));
  $("history").replaceChildren(
    h("h2", { id: "history-title" }, "History"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["Version", "Saved", "By", "What changed", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows))));
}
