#!/usr/bin/env python3
"""Writes the facts-only copy of SpotDraft's OpenAPI description that the sandbox tests use.

Usage: python3 sandbox/spec/strip-openapi.py <spotdraft-openapi.yml> [output]
(output defaults to sandbox/spec/spotdraft-openapi.yml beside this script).

The copy keeps the machine-readable contract and nothing else: paths, methods, operation ids,
parameters (name, in, required, schema), request-body schemas, response status codes with their
schemas, component schemas (types, properties, required, enums, formats, patterns, refs and the
other validation keywords) and security schemes. Every description, summary, title, example,
tag, logo and `x-` extension is dropped. The walk is an allow-list per OpenAPI object: a key it
does not know is dropped and named on stderr, so a new kind of prose can never slip through.

Needs Python 3 and PyYAML (`pip install pyyaml`). The output is deterministic: running it twice on
the same input gives the same bytes.
"""

import collections
import hashlib
import os
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Schema keywords that state facts (`default` is handled on its own, below). `title`,
# `description`, `example`, `examples`, `externalDocs`, `xml` and every `x-` key are prose or
# presentation and are dropped.
SCHEMA_SCALARS = {
    "type", "format", "nullable", "readOnly", "writeOnly", "deprecated", "required", "enum",
    "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties",
    "maxProperties", "$ref",
}
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
SCHEMA_SINGLE = {"items", "not"}

dropped = collections.Counter()


def drop(where, key):
    dropped[f"{where}.{key}"] += 1


class Loader(yaml.SafeLoader):
    """YAML 1.2-like scalars, as serde_yaml (the tests' parser) reads them: only true/false are
    booleans and timestamps stay strings, so no value changes on the way through."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def schema(node, where="schema"):
    if not isinstance(node, dict):
        return node  # `additionalProperties: true` and the like
    out = {}
    for key, value in node.items():
        if key in SCHEMA_SCALARS:
            out[key] = value
        elif key == "default":
            # Defaults are kept as facts (false, 10, "DAYS", ""), except free text: a default with
            # spaces in it is a sample message or name, i.e. an example in disguise.
            if isinstance(value, str) and re.search(r"\s", value):
                drop(where, "default (free text)")
            else:
                out[key] = value
        elif key == "properties":
            out[key] = {name: schema(item, "schema") for name, item in value.items()}
        elif key == "additionalProperties":
            out[key] = schema(value, "schema")
        elif key in SCHEMA_LISTS:
            out[key] = [schema(item, "schema") for item in value]
        elif key in SCHEMA_SINGLE:
            out[key] = schema(value, "schema")
        elif key == "discriminator":
            out[key] = {k: v for k, v in value.items() if k in ("propertyName", "mapping")}
        else:
            drop(where, key)
    return out


def media(node, where):
    out = {}
    for content_type, body in node.items():
        kept = {}
        for key, value in body.items():
            if key == "schema":
                kept[key] = schema(value)
            else:
                drop(where, key)
        out[content_type] = kept
    return out


def parameter(node):
    out = {}
    for key, value in node.items():
        if key in ("name", "in", "required", "deprecated", "allowEmptyValue", "style", "explode", "allowReserved", "$ref"):
            out[key] = value
        elif key == "schema":
            out[key] = schema(value)
        elif key == "content":
            out[key] = media(value, "parameter.content")
        else:
            drop("parameter", key)
    return out


def header(node):
    out = {}
    for key, value in node.items():
        if key in ("required", "deprecated", "style", "explode", "$ref"):
            out[key] = value
        elif key == "schema":
            out[key] = schema(value)
        else:
            drop("header", key)
    return out


def request_body(node):
    out = {}
    for key, value in node.items():
        if key in ("required", "$ref"):
            out[key] = value
        elif key == "content":
            out[key] = media(value, "requestBody.content")
        else:
            drop("requestBody", key)
    return out


def response(node):
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = value
        elif key == "content":
            out[key] = media(value, "response.content")
        elif key == "headers":
            out[key] = {name: header(item) for name, item in value.items()}
        else:
            drop("response", key)
    return out


def operation(node):
    out = {}
    for key, value in node.items():
        if key in ("operationId", "deprecated", "security"):
            out[key] = value
        elif key == "parameters":
            out[key] = [parameter(item) for item in value]
        elif key == "requestBody":
            out[key] = request_body(value)
        elif key == "responses":
            out[key] = {str(code): response(item) for code, item in value.items()}
        else:
            drop("operation", key)
    return out


def path_item(node):
    out = {}
    for key, value in node.items():
        if key in METHODS:
            out[key] = operation(value)
        elif key == "parameters":
            out[key] = [parameter(item) for item in value]
        elif key == "$ref":
            out[key] = value
        else:
            drop("pathItem", key)
    return out


def security_scheme(node):
    out = {}
    for key, value in node.items():
        if key in ("type", "name", "in", "scheme", "bearerFormat", "openIdConnectUrl"):
            out[key] = value
        elif key == "flows":
            out[key] = {
                flow: {
                    k: ({scope: "" for scope in v} if k == "scopes" else v)
                    for k, v in settings.items()
                    if k in ("authorizationUrl", "tokenUrl", "refreshUrl", "scopes")
                }
                for flow, settings in value.items()
            }
        else:
            drop("securityScheme", key)
    return out


def server(node):
    out = {}
    for key, value in node.items():
        if key == "url":
            out[key] = value
        elif key == "variables":
            out[key] = {
                name: {k: v for k, v in variable.items() if k in ("enum", "default")} for name, variable in value.items()
            }
        else:
            drop("server", key)
    return out


def components(node):
    out = {}
    for key, value in node.items():
        if key == "schemas":
            out[key] = {name: schema(item) for name, item in value.items()}
        elif key == "parameters":
            out[key] = {name: parameter(item) for name, item in value.items()}
        elif key == "requestBodies":
            out[key] = {name: request_body(item) for name, item in value.items()}
        elif key == "responses":
            out[key] = {name: response(item) for name, item in value.items()}
        elif key == "headers":
            out[key] = {name: header(item) for name, item in value.items()}
        elif key == "securitySchemes":
            out[key] = {name: security_scheme(item) for name, item in value.items()}
        else:
            drop("components", key)
    return out


def document(node):
    out = {}
    for key, value in node.items():
        if key == "openapi":
            out[key] = value
        elif key == "info":
            out[key] = {k: v for k, v in value.items() if k in ("title", "version")}
            for k in value:
                if k not in ("title", "version"):
                    drop("info", k)
        elif key == "servers":
            out[key] = [server(item) for item in value]
        elif key == "security":
            out[key] = value
        elif key == "paths":
            out[key] = {path: path_item(item) for path, item in value.items()}
        elif key == "components":
            out[key] = components(value)
        else:
            drop("document", key)
    return out


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    source = argv[1]
    target = argv[2] if len(argv) == 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "spotdraft-openapi.yml")
    with open(source, "rb") as handle:
        raw = handle.read()
    stripped = document(yaml.load(raw.decode("utf-8"), Loader=Loader))
    head = (
        "# Facts-only copy of SpotDraft's OpenAPI description, written by strip-openapi.py (see README.md\n"
        "# in this folder). Generated: do not edit by hand; regenerate from the original instead.\n"
        f"# Source: {len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}\n"
    )
    body = yaml.dump(stripped, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    with open(target, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(head + body)
    for key, count in sorted(dropped.items()):
        sys.stderr.write(f"dropped {key} x{count}\n")
    sys.stderr.write(f"wrote {target}: {len(stripped.get('paths', {}))} paths, "
                     f"{len(stripped.get('components', {}).get('schemas', {}))} schemas\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
