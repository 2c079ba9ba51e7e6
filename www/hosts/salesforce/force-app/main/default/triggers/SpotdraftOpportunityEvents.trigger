/**
 * Tells the SpotDraft relay when an Opportunity is created, changes stage, or is edited while it has
 * no contract yet, so the relay can create a contract at a template's createAtStages. The choice and
 * the callout live in SpotdraftCrmEvents: a trigger cannot call out, and a class can be tested.
 */
trigger SpotdraftOpportunityEvents on Opportunity (after insert, after update) {
    SpotdraftCrmEvents.enqueueFor(Trigger.new, Trigger.oldMap);
}
