// The Salesforce SFDX project (www/hosts/salesforce) as a package an admin deploys, checked offline:
//
// - every Apex class and trigger through the Apex Dev Tools parser (@apexdevtools/apex-parser, the
//   ANTLR grammar behind Salesforce's own Apex tooling), which must report no syntax error;
// - every *-meta.xml through fast-xml-parser's validator (well-formed XML);
// - what the product needs of the metadata: the five SpotDraft fields the relay writes back (the
//   names the relay and its sandbox use), the permission sets, the trusted URL that lets the component
//   frame the sidebar page, the Opportunity record page with the component, the package definition;
// - the signing design: RS256 with the org's certificate (Crypto.signWithCertificate), no HMAC, no
//   secret kept in custom metadata or anywhere else in the package;
// - the milestone events: the Opportunity trigger, the queued callout to the relay's /crm-events/ with
//   an event token (aud spotdraft-crm-relay/crm-events) signed the same way, the Named Credential.
//
// A copy with one deliberate mistake (in memory) shows each checker can fail. Apex itself cannot run
// here; its tests (SpotdraftRelayTokenTest, SpotdraftCrmEventsTest) run in an org.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ApexErrorListener, ApexParserFactory } from "@apexdevtools/apex-parser";
import { XMLParser, XMLValidator } from "fast-xml-parser";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PROJECT = join(ROOT, "www/hosts/salesforce");
const SOURCE = join(PROJECT, "force-app");
const DEFAULT = join(SOURCE, "main/default");
const METADATA_NS = "http://soap.sforce.com/2006/04/metadata";

const CERTIFICATE_NAME = "SpotDraft_Relay_Signing";
const RELAY_ORIGIN = "https://relay.example.com";

/** Every file under `dir`, as absolute paths (the component's Jest tests included). */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

const FILES = walk(SOURCE);
const rel = (path) => relative(PROJECT, path);
const read = (path) => readFileSync(path, "utf8");

// ---------------------------------------------------------------------------------------------------
// Apex: the vendor's parser

class CollectingListener extends ApexErrorListener {
  errors = [];
  apexSyntaxError(line, column, message) {
    this.errors.push(`${line}:${column} ${message}`);
  }
}

/** Syntax errors the Apex parser reports for a class (or, with `trigger`, a trigger) source. */
function apexErrors(source, { trigger = false } = {}) {
  const listener = new CollectingListener();
  const { parser } = ApexParserFactory.createLexerAndParser(source, listener);
  if (trigger) parser.triggerUnit();
  else parser.compilationUnit();
  return listener.errors;
}

/** The source's tokens as the compiler sees them: no comments, no whitespace. */
function codeTokens(source) {
  return ApexParserFactory.createLexer(source)
    .getAllTokens()
    .filter((token) => token.channel === 0)
    .map((token) => token.text);
}

/** Whether `tokens` holds the whitespace-separated token sequence `sequence`, in a row. */
function hasSequence(tokens, sequence) {
  const wanted = sequence.split(" ");
  for (let i = 0; i + wanted.length <= tokens.length; i += 1) {
    if (wanted.every((text, k) => tokens[i + k] === text)) return true;
  }
  return false;
}

const APEX = FILES.filter((path) => path.endsWith(".cls") || path.endsWith(".trigger"));
const TOKEN_CLASS = join(DEFAULT, "classes/SpotdraftRelayToken.cls");
const TOKEN_TEST_CLASS = join(DEFAULT, "classes/SpotdraftRelayTokenTest.cls");
const EVENTS_CLASS = join(DEFAULT, "classes/SpotdraftCrmEvents.cls");
const EVENTS_TEST_CLASS = join(DEFAULT, "classes/SpotdraftCrmEventsTest.cls");
const EVENTS_TRIGGER = join(DEFAULT, "triggers/SpotdraftOpportunityEvents.trigger");
const NAMED_CREDENTIAL = join(DEFAULT, "namedCredentials/SpotDraft_Relay.namedCredential-meta.xml");

test("the Apex parser accepts every class and trigger in the package", () => {
  assert.ok(APEX.length >= 2, `found only ${APEX.map(rel)}`);
  for (const path of APEX) {
    const errors = apexErrors(read(path), { trigger: path.endsWith(".trigger") });
    assert.deepEqual(errors, [], `${rel(path)} has syntax errors`);
    assert.ok(existsSync(`${path}-meta.xml`), `${rel(path)} has no -meta.xml beside it`);
  }
});

test("the Apex parser rejects a class with a deliberate mistake, so the check above can fail", () => {
  const source = read(TOKEN_CLASS);
  const missingSemicolon = source.replace("Long expiresAt = issuedAt + TTL_SECONDS;", "Long expiresAt = issuedAt + TTL_SECONDS");
  assert.notEqual(missingSemicolon, source, "the line to break is in the class");
  const errors = apexErrors(missingSemicolon);
  assert.ok(errors.length > 0, "a missing semicolon must be reported");
  const unclosed = source.replace(/\}\s*$/, "");
  assert.ok(apexErrors(unclosed).length > 0, "an unclosed class must be reported");
  // Triggers go through the trigger grammar, which fails too.
  const trigger = read(EVENTS_TRIGGER);
  assert.deepEqual(apexErrors(trigger, { trigger: true }), []);
  const noEvents = trigger.replace("(after insert, after update)", "(after insert after update)");
  assert.notEqual(noEvents, trigger, "the line to break is in the trigger");
  assert.ok(apexErrors(noEvents, { trigger: true }).length > 0, "a missing comma between trigger events must be reported");
});

test("the session is signed RS256 with the org's certificate, with the relay's claims, and no HMAC secret", () => {
  const source = read(TOKEN_CLASS);
  const tokens = codeTokens(source);
  const has = (sequence) => assert.ok(hasSequence(tokens, sequence), `SpotdraftRelayToken.cls lacks: ${sequence}`);

  // The certificate, its name and the algorithm (RSASSA-PKCS1-v1_5 with SHA-256 is JWT's RS256).
  has(`CERTIFICATE_NAME = '${CERTIFICATE_NAME}' ;`);
  has("Crypto . signWithCertificate ( 'RSA-SHA256' , Blob . valueOf ( signingInput ) , CERTIFICATE_NAME )");
  has(`HEADER = '{"alg":"RS256","typ":"JWT"}' ;`);
  has("base64Url ( Blob . valueOf ( HEADER ) ) + '.' + base64Url ( Blob . valueOf ( JSON . serialize ( claims ) ) )");
  has("return signingInput + '.' + base64Url ( signature ) ;");
  // Unpadded base64url.
  has(". replace ( '+' , '-' ) . replace ( '/' , '_' ) . replace ( '=' , '' )");

  // The same claims as before: the relay's contract (src/auth.rs) did not change, only the algorithm.
  has("AUDIENCE = 'spotdraft-crm-relay' ;");
  has("TTL_SECONDS = 300 ;");
  has("'iss' => 'salesforce'");
  has("'aud' => AUDIENCE");
  has("'tenant' => tenant");
  has("String tenant = String . valueOf ( UserInfo . getOrganizationId ( ) ) ;");
  has("'record' => String . valueOf ( readable [ 0 ] . Id )");
  has("'sub' => user");
  has("String user = String . valueOf ( UserInfo . getUserId ( ) ) ;");
  has("'iat' => issuedAt");
  has("'exp' => expiresAt");
  has("Long expiresAt = issuedAt + TTL_SECONDS ;");

  // Opportunity only, and only one the user can read.
  has("recordId . getSobjectType ( ) != Opportunity . SObjectType");
  has("[ SELECT Id FROM Opportunity WHERE Id = : recordId WITH USER_MODE LIMIT 1 ]");
  has("public with sharing class SpotdraftRelayToken");

  // The test seam works only in Apex tests.
  has("if ( Test . isRunningTest ( ) && signerForTest != null )");

  // Nothing of the HS256 design is left, in any Apex file (comments aside).
  for (const path of APEX) {
    const code = codeTokens(read(path)).join(" ");
    for (const gone of [/HS256/i, /generateMac/i, /hmac/i, /Spotdraft_Relay__mdt/i, /Host_Secret/i, /getInstance/i, /secretForTest/i]) {
      assert.doesNotMatch(code, gone, `${rel(path)} still uses ${gone}`);
    }
  }
});

test("the Apex tests check the RS256 token without the certificate and never cast a JSON number to Long", () => {
  const tokens = codeTokens(read(TOKEN_TEST_CLASS));
  assert.ok(hasSequence(tokens, "implements SpotdraftRelayToken . Signer"), "a stand-in signer");
  assert.ok(hasSequence(tokens, "SpotdraftRelayToken . signerForTest ="), "installed through the seam");
  assert.ok(hasSequence(tokens, "'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9'"), "the RS256 header, encoded outside Salesforce");
  assert.equal(Buffer.from('{"alg":"RS256","typ":"JWT"}').toString("base64url"), "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9");
  // JSON.deserializeUntyped answers Integer for numbers that fit; (Long) on one fails at run time.
  assert.ok(!hasSequence(tokens, "( Long )"), "no (Long) cast in the test class");
});

/** The relay's audience for CRM events, as src/auth.rs declares it. */
function relayEventsAudience() {
  const match = read(join(ROOT, "src/auth.rs")).match(/pub const EVENTS_AUDIENCE: &str = "([^"]+)";/);
  assert.ok(match, "src/auth.rs declares EVENTS_AUDIENCE");
  return match[1];
}

test("the Opportunity trigger runs after insert and update and hands every change to SpotdraftCrmEvents", () => {
  assert.ok(existsSync(EVENTS_TRIGGER), "triggers/SpotdraftOpportunityEvents.trigger exists");
  const tokens = codeTokens(read(EVENTS_TRIGGER));
  const has = (sequence) => assert.ok(hasSequence(tokens, sequence), `the trigger lacks: ${sequence}`);
  has("trigger SpotdraftOpportunityEvents on Opportunity ( after insert , after update )");
  has("SpotdraftCrmEvents . enqueueFor ( Trigger . new , Trigger . oldMap ) ;");
  // No callout and no logic of its own: a trigger cannot call out, and the class is what the tests reach.
  assert.ok(!tokens.some((t) => /^(Http|HttpRequest|System)$/.test(t)), tokens.join(" "));
  const meta = parse(`${EVENTS_TRIGGER}-meta.xml`).ApexTrigger;
  assert.equal(meta.status, "Active");
});

test("SpotdraftCrmEvents queues one callout job, posts to /crm-events/ with an event token signed like the session's", () => {
  const tokens = codeTokens(read(EVENTS_CLASS));
  const has = (sequence) => assert.ok(hasSequence(tokens, sequence), `SpotdraftCrmEvents.cls lacks: ${sequence}`);

  // A queueable that may call out; inherited sharing (it reads no Opportunity), never without sharing.
  has("public inherited sharing class SpotdraftCrmEvents implements Queueable , Database . AllowsCallouts");
  assert.ok(!hasSequence(tokens, "without sharing"));
  // One job per trigger run, only while the transaction may still queue one; at most 100 calls each.
  has("if ( Limits . getQueueableJobs ( ) < Limits . getLimitQueueableJobs ( ) )");
  has("System . enqueueJob ( new SpotdraftCrmEvents ( changed ) ) ;");
  has("MAX_PER_JOB = 100 ;");
  has("System . enqueueJob ( new SpotdraftCrmEvents ( rest ) ) ;");
  // Which changes: new, stage changed, or any edit while there is no contract yet (not the relay's own).
  has("if ( before == null ) { return true ; }");
  has("if ( record . StageName != before . StageName ) { return true ; }");
  has("if ( String . isNotBlank ( record . SpotDraft_Contract_Id__c ) ) { return false ; }");

  // The event token: the session's claims, the events audience, no user, five minutes.
  assert.equal(relayEventsAudience(), "spotdraft-crm-relay/crm-events");
  has(`AUDIENCE = '${relayEventsAudience()}' ;`);
  has("SUBJECT = 'crm-event' ;");
  has("'iss' => 'salesforce'");
  has("'aud' => AUDIENCE");
  has("'tenant' => String . valueOf ( UserInfo . getOrganizationId ( ) )");
  has("'record' => String . valueOf ( dealId )");
  has("'sub' => SUBJECT");
  has("'iat' => issuedAt");
  has("'exp' => issuedAt + SpotdraftRelayToken . TTL_SECONDS");
  // Signed by SpotdraftRelayToken (its header, certificate and test seam), never here.
  has("return SpotdraftRelayToken . signClaims (");
  assert.ok(!tokens.includes("Crypto"), "SpotdraftCrmEvents signs nothing itself");

  // The call: the Named Credential, the environment in the path, the token as a bearer, an empty JSON body.
  has("ENDPOINT = 'callout:SpotDraft_Relay/crm-events/' ;");
  has("request . setEndpoint ( ENDPOINT + environment ) ;");
  has("request . setMethod ( 'POST' ) ;");
  // (hasSequence splits on spaces, and 'Bearer ' holds one: compared token by token here.)
  const bearer = ["request", ".", "setHeader", "(", "'Authorization'", ",", "'Bearer '", "+", "token", "(", "dealId", ")", ")", ";"];
  assert.ok(tokens.some((_, i) => bearer.every((text, k) => tokens[i + k] === text)), `SpotdraftCrmEvents.cls lacks: ${bearer.join(" ")}`);
  has("request . setHeader ( 'Content-Type' , 'application/json' ) ;");
  has("request . setBody ( '{}' ) ;");
  has("IsSandbox ? 'uat' : 'production'");
  // Failures are logged, never thrown: a user's save must not fail because the relay is away.
  assert.ok(!tokens.includes("throw"), "SpotdraftCrmEvents throws nothing");
});

test("SpotdraftRelayToken shares its signing through signClaims and keeps mint as it was", () => {
  const tokens = codeTokens(read(TOKEN_CLASS));
  assert.ok(hasSequence(tokens, "public static String signClaims ( Map < String , Object > claims ) { return sign ( claims ) ; }"));
  assert.ok(hasSequence(tokens, "'token' => sign ( claims )"), "mint still signs its own claims");
});

test("the events' Apex tests use a callout mock and the signer seam, and check the token's claims", () => {
  const tokens = codeTokens(read(EVENTS_TEST_CLASS));
  const has = (sequence) => assert.ok(hasSequence(tokens, sequence), `SpotdraftCrmEventsTest.cls lacks: ${sequence}`);
  has("implements HttpCalloutMock");
  has("Test . setMock ( HttpCalloutMock . class , mock ) ;");
  has("implements SpotdraftRelayToken . Signer");
  has("SpotdraftRelayToken . signerForTest = signer ;");
  has("SpotdraftCrmEvents . enqueueInTests = true ;");
  has("'callout:SpotDraft_Relay/crm-events/'");
  for (const claim of ["'spotdraft-crm-relay/crm-events' , claims . get ( 'aud' )", "'crm-event' , claims . get ( 'sub' )", "claims . get ( 'tenant' )", "claims . get ( 'record' )", "300L , asLong ( claims . get ( 'exp' ) ) - iat"]) {
    has(claim);
  }
  has("System . assertEquals ( 0 , Limits . getQueueableJobs ( ) ,");
  assert.ok(!hasSequence(tokens, "( Long )"), "no (Long) cast in the test class");
});

// ---------------------------------------------------------------------------------------------------
// Metadata XML: well-formed, and of the type its folder says

const META = FILES.filter((path) => path.endsWith("-meta.xml"));
/** Elements that may repeat, read as arrays even when a file has one. */
const ARRAYS = new Set([
  "classAccesses", "fieldPermissions", "objectPermissions", "flexiPageRegions", "itemInstances",
  "componentInstanceProperties", "property", "target", "targetConfig",
]);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (name, jpath) => ARRAYS.has(name) || jpath.endsWith("targetConfig.objects.object"),
});
const parse = (path) => parser.parse(read(path));

test("every -meta.xml file is well-formed XML", () => {
  assert.ok(META.length >= 12, `found only ${META.length} metadata files`);
  for (const path of META) {
    const verdict = XMLValidator.validate(read(path));
    assert.equal(verdict, true, `${rel(path)}: ${JSON.stringify(verdict.err ?? verdict)}`);
  }
});

test("the XML validator rejects a broken metadata file, so the check above can fail", () => {
  const text = read(join(DEFAULT, "cspTrustedSites/SpotDraft_Relay.cspTrustedSite-meta.xml"));
  const unclosed = text.replace("</isActive>", "");
  const verdict = XMLValidator.validate(unclosed);
  assert.notEqual(verdict, true, "an unclosed element must be reported");
  assert.ok(verdict.err.line > 0, JSON.stringify(verdict));
  assert.notEqual(XMLValidator.validate(text.replace("<context>", "<context >All<")), true, "a stray < must be reported");
});

/** Source-format folders this package uses: the file suffix and root element each must have. */
const KINDS = [
  { folder: /^classes\/[^/]+$/, suffix: ".cls-meta.xml", root: "ApexClass" },
  { folder: /^lwc\/[^/]+\/[^/]+$/, suffix: ".js-meta.xml", root: "LightningComponentBundle" },
  { folder: /^objects\/Opportunity\/fields\/[^/]+$/, suffix: ".field-meta.xml", root: "CustomField" },
  { folder: /^permissionsets\/[^/]+$/, suffix: ".permissionset-meta.xml", root: "PermissionSet" },
  { folder: /^cspTrustedSites\/[^/]+$/, suffix: ".cspTrustedSite-meta.xml", root: "CspTrustedSite" },
  { folder: /^flexipages\/[^/]+$/, suffix: ".flexipage-meta.xml", root: "FlexiPage" },
  { folder: /^triggers\/[^/]+$/, suffix: ".trigger-meta.xml", root: "ApexTrigger" },
  { folder: /^namedCredentials\/[^/]+$/, suffix: ".namedCredential-meta.xml", root: "NamedCredential" },
];

test("every metadata file is in its type's folder, with its type's suffix, root element and namespace", () => {
  for (const path of META) {
    const inDefault = relative(DEFAULT, path);
    const kind = KINDS.find((k) => k.folder.test(inDefault));
    assert.ok(kind, `${rel(path)} is in a folder this package does not use`);
    assert.ok(inDefault.endsWith(kind.suffix), `${rel(path)} must end in ${kind.suffix}`);
    const document = parse(path);
    assert.ok(document[kind.root], `${rel(path)} must have the root element ${kind.root}`);
    assert.equal(document[kind.root]["@xmlns"], METADATA_NS, `${rel(path)}: metadata namespace`);
  }
});

test("sfdx-project.json is ready for an unlocked package without a namespace", () => {
  const project = JSON.parse(read(join(PROJECT, "sfdx-project.json")));
  assert.equal(project.namespace, "");
  assert.equal(project.packageDirectories.length, 1);
  const [dir] = project.packageDirectories;
  assert.equal(dir.path, "force-app");
  assert.equal(dir.default, true);
  assert.equal(dir.package, "SpotDraft CRM");
  assert.equal(dir.versionNumber, "0.1.0.NEXT");
  assert.match(dir.versionNumber, /^\d+\.\d+\.\d+\.NEXT$/);
  assert.equal(typeof dir.versionName, "string");
  assert.ok(dir.versionName.length > 0);
  // One API version everywhere: the project's, and each class's, trigger's and component's.
  for (const path of META.filter((p) => /\.(cls|trigger|js)-meta\.xml$/.test(p))) {
    const document = parse(path);
    const root = document.ApexClass ?? document.ApexTrigger ?? document.LightningComponentBundle;
    assert.equal(Number(root.apiVersion).toFixed(1), project.sourceApiVersion, `${rel(path)} apiVersion`);
  }
  // Jest tests stay out of deploys and package versions.
  assert.match(read(join(PROJECT, ".forceignore")), /^\*\*\/__tests__\/\*\*$/m);
});

// ---------------------------------------------------------------------------------------------------
// What the product needs of the metadata

/** The relay's names for the Salesforce write-back fields and their labels (sandbox/src/vendors/mod.rs). */
function relayFieldNames() {
  const rust = read(join(ROOT, "sandbox/src/vendors/mod.rs"));
  const list = (name) => {
    const match = rust.match(new RegExp(`pub const ${name}: \\[&str; 5\\] =\\s*\\[([^\\]]*)\\]`));
    assert.ok(match, `${name} is in sandbox/src/vendors/mod.rs`);
    return [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  };
  return { names: list("SALESFORCE_FIELDS"), labels: list("SPOTDRAFT_LABELS") };
}

const FIELDS_DIR = join(DEFAULT, "objects/Opportunity/fields");

test("the five Opportunity fields the relay writes back ship as Text(255), with the relay's names and labels", () => {
  const { names, labels } = relayFieldNames();
  assert.deepEqual(names, ["SpotDraft_Contract_Id__c", "SpotDraft_Status__c", "SpotDraft_Status_At__c", "SpotDraft_Link__c", "SpotDraft_Executed_At__c"]);
  const shipped = readdirSync(FIELDS_DIR).map((name) => name.replace(/\.field-meta\.xml$/, "")).sort();
  assert.deepEqual(shipped, [...names].sort(), "exactly these fields");
  names.forEach((name, i) => {
    const field = parse(join(FIELDS_DIR, `${name}.field-meta.xml`)).CustomField;
    assert.equal(field.fullName, name);
    assert.equal(field.label, labels[i]);
    assert.equal(field.type, "Text", `${name} type`);
    assert.equal(field.length, 255, `${name} length`);
    assert.equal(field.required, false, `${name} is optional`);
    assert.equal(field.unique, false);
    assert.equal(field.externalId, false);
  });
});

const permissionSet = (name) => parse(join(DEFAULT, `permissionsets/${name}.permissionset-meta.xml`)).PermissionSet;
const fieldAccess = (set) => Object.fromEntries((set.fieldPermissions ?? []).map((p) => [p.field, { readable: p.readable, editable: p.editable }]));

test("SpotDraft Sidebar User runs the token Apex and reads the SpotDraft fields, never edits them", () => {
  const { names } = relayFieldNames();
  const set = permissionSet("SpotDraft_Sidebar_User");
  assert.equal(set.label, "SpotDraft Sidebar User");
  assert.deepEqual(set.classAccesses, [{ apexClass: "SpotdraftRelayToken", enabled: true }]);
  assert.deepEqual(
    fieldAccess(set),
    Object.fromEntries(names.map((name) => [`Opportunity.${name}`, { readable: true, editable: false }])),
  );
  // Object access stays with the profile: the set must not widen which Opportunities a seller sees.
  assert.equal(set.objectPermissions, undefined);
  assert.ok(set.description.length <= 255, "a permission set description holds 255 characters");
});

test("SpotDraft Integration lets the relay's user read and write the SpotDraft fields, and nothing more on Opportunity", () => {
  const { names } = relayFieldNames();
  const set = permissionSet("SpotDraft_Integration");
  assert.deepEqual(
    fieldAccess(set),
    Object.fromEntries(names.map((name) => [`Opportunity.${name}`, { readable: true, editable: true }])),
  );
  assert.equal(set.classAccesses, undefined, "the relay calls no Apex");
  const objects = Object.fromEntries(set.objectPermissions.map((p) => [p.object, p]));
  assert.deepEqual(Object.keys(objects).sort(), ["Account", "Contact", "Opportunity"]);
  assert.equal(objects.Opportunity.allowRead, true);
  assert.equal(objects.Opportunity.allowEdit, true);
  for (const p of Object.values(objects)) {
    assert.equal(p.allowRead, true, `${p.object} read`);
    assert.equal(p.allowCreate, false, `${p.object} create`);
    assert.equal(p.allowDelete, false, `${p.object} delete`);
    assert.equal(p.modifyAllRecords, false, `${p.object} modify all`);
    assert.equal(p.viewAllRecords, false, `${p.object} view all`);
    if (p.object !== "Opportunity") assert.equal(p.allowEdit, false, `${p.object} edit`);
  }
  assert.ok(set.description.length <= 255);
});

const CSP = join(DEFAULT, "cspTrustedSites/SpotDraft_Relay.cspTrustedSite-meta.xml");

test("the trusted URL lets Lightning frame the relay's sidebar page (frame-src) and allows nothing else", () => {
  const site = parse(CSP).CspTrustedSite;
  assert.equal(site.endpointUrl, RELAY_ORIGIN, "the placeholder origin the admin replaces");
  assert.equal(new URL(site.endpointUrl).origin, site.endpointUrl, "an origin, no path");
  assert.equal(new URL(site.endpointUrl).protocol, "https:");
  assert.equal(site.isActive, true);
  assert.equal(site.context, "All");
  assert.equal(site.isApplicableToFrameSrc, true);
  for (const other of ["ConnectSrc", "FontSrc", "ImgSrc", "MediaSrc", "StyleSrc"]) {
    assert.equal(site[`isApplicableTo${other}`], false, `${other} stays closed: the component itself loads nothing from the relay`);
  }
  assert.equal(site.canAccessCamera, false);
  assert.equal(site.canAccessMicrophone, false);
});

test("the Named Credential SpotDraft_Relay points at the relay's origin and adds no credential of its own", () => {
  const credential = parse(NAMED_CREDENTIAL).NamedCredential;
  assert.equal(credential.label, "SpotDraft Relay");
  assert.equal(credential.endpoint, RELAY_ORIGIN, "the placeholder origin the admin replaces");
  assert.equal(credential.endpoint, parse(CSP).CspTrustedSite.endpointUrl, "the same relay as the trusted URL");
  assert.equal(new URL(credential.endpoint).origin, credential.endpoint, "an origin: the Apex adds /crm-events/<environment>");
  // The event token in the request's Authorization header is the credential: nothing may replace it.
  assert.equal(credential.namedCredentialType, "Legacy");
  assert.equal(credential.principalType, "Anonymous");
  assert.equal(credential.protocol, "NoAuthentication");
  assert.equal(credential.generateAuthorizationHeader, false);
  assert.equal(credential.allowMergeFieldsInBody, false);
  assert.equal(credential.allowMergeFieldsInHeader, false);
  // The Apex calls it by this file's name.
  assert.ok(read(EVENTS_CLASS).includes(`'callout:${basename(NAMED_CREDENTIAL, ".namedCredential-meta.xml")}/crm-events/'`));
});

test("the Opportunity record page puts the SpotDraft component in the sidebar with its declared properties", () => {
  const page = parse(join(DEFAULT, "flexipages/SpotDraft_Opportunity_Record_Page.flexipage-meta.xml")).FlexiPage;
  assert.equal(page.type, "RecordPage");
  assert.equal(page.sobjectType, "Opportunity");
  assert.equal(page.template.name, "flexipage:recordHomeTemplateDesktop");
  const regions = Object.fromEntries(page.flexiPageRegions.map((r) => [r.name, r]));
  assert.ok(regions.main && regions.sidebar, "main and sidebar regions");
  for (const region of page.flexiPageRegions) assert.equal(region.type, "Region", `${region.name} is a template region`);

  const components = page.flexiPageRegions.flatMap((r) => r.itemInstances.map((i) => ({ region: r.name, ...i.componentInstance })));
  const identifiers = components.map((c) => c.identifier);
  assert.equal(new Set(identifiers).size, identifiers.length, "identifiers are unique");
  const ours = components.filter((c) => c.componentName === "c:spotdraftSidebar");
  assert.equal(ours.length, 1, "the component appears once");
  assert.equal(ours[0].region, "sidebar");

  // The properties are the ones the component declares for record pages, with valid values.
  const bundle = parse(join(DEFAULT, "lwc/spotdraftSidebar/spotdraftSidebar.js-meta.xml")).LightningComponentBundle;
  assert.equal(bundle.isExposed, true);
  const config = bundle.targetConfigs.targetConfig.find((c) => c["@targets"] === "lightning__RecordPage");
  assert.ok(config.objects.object.includes("Opportunity"), "the component is declared for Opportunity");
  const declared = Object.fromEntries(config.property.map((p) => [p["@name"], p]));
  const values = Object.fromEntries(ours[0].componentInstanceProperties.map((p) => [p.name, p.value]));
  for (const name of Object.keys(values)) assert.ok(declared[name], `${name} is a declared property`);
  for (const [name, p] of Object.entries(declared)) {
    if (p["@required"] === "true") assert.ok(values[name], `required property ${name} is set`);
  }
  assert.equal(values.sidebarUrl, `${RELAY_ORIGIN}/sidebar/index.html`);
  assert.equal(values.relayUrl, RELAY_ORIGIN);
  assert.ok(declared.environment["@datasource"].split(",").includes(values.environment), "environment is one of the choices");
  // The page is framed from the trusted URL's origin, or Lightning's CSP blocks it.
  assert.equal(new URL(values.sidebarUrl).origin, parse(CSP).CspTrustedSite.endpointUrl);
});

test("no secret is kept in the package: no custom metadata type, no secret-named field, no key", () => {
  const objects = readdirSync(join(DEFAULT, "objects"));
  assert.deepEqual(objects, ["Opportunity"], "only the Opportunity fields");
  for (const path of FILES) {
    const name = rel(path);
    assert.doesNotMatch(name, /__mdt|secret/i, `${name}: custom metadata or a secret-named file`);
    if (path.endsWith(".field-meta.xml")) {
      assert.doesNotMatch(parse(path).CustomField.fullName, /secret|key|token|password/i, name);
    }
    const text = read(path);
    assert.doesNotMatch(text, /Host_Secret|__mdt\b|hostSecrets/i, `${name} refers to the old secret design`);
    assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${name} holds a private key`);
  }
});

test("the checks above cover every file the package deploys", () => {
  const deployed = FILES.filter((path) => !rel(path).includes("__tests__"));
  const kinds = new Set(deployed.map((path) => relative(DEFAULT, path).split("/")[0]));
  assert.deepEqual([...kinds].sort(), ["classes", "cspTrustedSites", "flexipages", "lwc", "namedCredentials", "objects", "permissionsets", "triggers"]);
  const apex = deployed.filter((path) => /\.(cls|trigger)$/.test(path)).map((path) => basename(path)).sort();
  assert.deepEqual(apex, ["SpotdraftCrmEvents.cls", "SpotdraftCrmEventsTest.cls", "SpotdraftOpportunityEvents.trigger", "SpotdraftRelayToken.cls", "SpotdraftRelayTokenTest.cls"]);
  const lwc = deployed.filter((path) => relative(DEFAULT, path).startsWith("lwc/")).map((path) => basename(path)).sort();
  assert.deepEqual(lwc, ["spotdraftSidebar.css", "spotdraftSidebar.html", "spotdraftSidebar.js", "spotdraftSidebar.js-meta.xml"]);
});
