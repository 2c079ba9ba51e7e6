// The demo host's record mapping: a HubSpot deal with its associated company and contact (CRM v3
// shapes) → the core's canonical deal. Each real host adapter owns the same mapping for its CRM.

export const DEAL_PROPERTIES = ["dealname", "amount", "deal_currency_code", "dealstage", "closedate", "hubspot_owner_id"];
export const SPOTDRAFT_PROPERTIES = ["spotdraft_contract_id", "spotdraft_status", "spotdraft_status_at", "spotdraft_contract_link", "spotdraft_executed_at"];

// HubSpot stores the country as typed; SpotDraft wants ISO 3166 codes for addresses.
const COUNTRY_CODES = { "united states": "US", usa: "US", germany: "DE", "united kingdom": "GB", uk: "GB", india: "IN", france: "FR" };

const text = (value) => (typeof value === "string" && value.trim() !== "" ? value : undefined);

export function canonicalDeal(deal, company, contact) {
  const p = deal.properties ?? {};
  const c = company?.properties;
  const person = contact?.properties;
  const country = text(c?.country);
  return {
    id: String(deal.id),
    name: text(p.dealname) ?? `Deal ${deal.id}`,
    amount: text(p.amount) ?? null,
    currency: text(p.deal_currency_code) ?? null,
    stage: text(p.dealstage) ?? null,
    closeDate: text(p.closedate) ?? null,
    account: c ? {
      id: String(company.id),
      name: text(c.name) ?? `Company ${company.id}`,
      address: {
        lineOne: text(c.address), city: text(c.city), state: text(c.state), zipcode: text(c.zip), country,
        countryIsoCode: country ? COUNTRY_CODES[country.toLowerCase()] : undefined,
      },
    } : null,
    primaryContact: person ? {
      id: String(contact.id), firstName: text(person.firstname), lastName: text(person.lastname), email: text(person.email),
    } : null,
  };
}
