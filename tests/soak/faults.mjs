// Every fault the soaks inject at once: SpotDraft answering 429 and 503, resetting the connection
// after it processed a create, answering reads slowly; webhooks duplicated, dropped, shuffled and
// delayed. `seed` makes a run repeatable; `rules` adds to SpotDraft's.
export const SOAK_WEBHOOK_FAULTS = { duplicate_rate: 0.3, drop_rate: 0.15, shuffle: true, delay_ms: 20 };

export function everyFault(seed, rules = []) {
  return {
    seed,
    rules: [
      { route: "* /api/v2.1/*", service: "spotdraft", kind: "429", rate: 0.1 },
      { route: "* /api/v2.1/*", service: "spotdraft", kind: "503", rate: 0.1 },
      { route: "POST /api/v2.1/public/contracts/", service: "spotdraft", kind: "reset", rate: 0.2 },
      { route: "GET /api/v2.1/*", service: "spotdraft", kind: "slow", rate: 0.1, delay_ms: 300 },
      ...rules,
    ],
    webhooks: SOAK_WEBHOOK_FAULTS,
  };
}
