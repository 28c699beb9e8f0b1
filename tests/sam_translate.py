#!/usr/bin/env python3
"""Translates a SAM template to the CloudFormation JSON a deployment would create, offline.

What CloudFormation does with `Transform:` on a deployment, done here with the same libraries
the SAM CLI uses: first the AWS::LanguageExtensions transform (its Fn::ForEach loops, with SAM
CLI's `samcli.lib.cfn_language_extensions` and the deployment's parameter values; the other
functions of that transform are refused, none is used), then AWS::Serverless-2016-10-31 (the
`aws-sam-translator` package). The integration tests create a stack on moto from the result
(tests/src/deployed.rs).

One change is made to the template before translating, named where it is made:
- code-uri-to-s3: every function's local `CodeUri` (a folder, which `sam build` compiles and
  `sam package` uploads) becomes s3://BUCKET/<binary>.zip, as `sam package` leaves it; the
  translator accepts only S3 locations.

Usage: sam_translate.py TEMPLATE --code-bucket BUCKET [--parameters JSON] [--region R]
       [--account-id A] [--stack-name N]
Writes the CloudFormation template (JSON) on stdout; on an error, says what failed on stderr and
exits with status 1 (2 when a required Python package is missing).
"""

import argparse
import copy
import json
import os
import sys


def fail(message, status=1):
    print(f"sam_translate: {message}", file=sys.stderr)
    sys.exit(status)


try:
    from samtranslator.translator.transform import transform
    from samcli.yamlhelper import yaml_parse
except ImportError as error:  # the caller tells a missing tool from a broken template by status 2
    fail(f"{error}; install it with: python3 -m pip install aws-sam-cli", 2)


class BundledManagedPolicies:
    """The AWS managed policies' name -> ARN map the translator asks for when a function names
    one; read from the translator's own bundled copy instead of IAM, so nothing goes online."""

    def load(self):
        from importlib import resources

        path = resources.files("samtranslator") / "internal" / "data" / "aws_managed_policies.json"
        with path.open() as data:
            return json.load(data)


def code_uri_to_s3(template, bucket):
    """Workaround code-uri-to-s3 (see the module's docstring)."""
    functions = template.get("Resources", {})
    defaults = template.get("Globals", {}).get("Function", {})
    for name, resource in functions.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.setdefault("Properties", {})
        uri = properties.get("CodeUri", defaults.get("CodeUri"))
        if isinstance(uri, str) and uri.startswith("s3://"):
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary", name)
        properties["CodeUri"] = {"Bucket": bucket, "Key": f"{binary}.zip"}


def expand_language_extensions(template, values, pseudo):
    """The AWS::LanguageExtensions transform, when the template declares it: Fn::ForEach loops
    expanded with the parameter values, every other intrinsic function left for CloudFormation.

    Only the SAM CLI's ForEach processor runs. Its full pipeline (`expand_language_extensions`,
    what `sam build` uses locally) also resolves the other intrinsic functions as far as it can,
    and in doing so turns `!Sub "${Resource.Arn},..."` into a plain string that still holds the
    `${...}` (SAM CLI 1.170): deployed, a variable would hold that text."""
    transforms = template.get("Transform", [])
    if isinstance(transforms, str):
        transforms = [transforms]
    if "AWS::LanguageExtensions" not in transforms:
        return template
    try:
        from samcli.lib.cfn_language_extensions.api import create_default_intrinsic_resolver
        from samcli.lib.cfn_language_extensions.models import (
            PseudoParameterValues,
            ResolutionMode,
            TemplateProcessingContext,
        )
        from samcli.lib.cfn_language_extensions.pipeline import ProcessingPipeline
        from samcli.lib.cfn_language_extensions.processors import TemplateParsingProcessor
        from samcli.lib.cfn_language_extensions.processors.foreach import ForEachProcessor
    except ImportError as error:
        fail(f"the template uses AWS::LanguageExtensions and SAM CLI lacks it ({error}); "
             "install a SAM CLI with samcli.lib.cfn_language_extensions (1.160 or later)", 2)
    text = json.dumps(template)
    for unsupported in ('"Fn::Length"', '"Fn::ToJsonString"', '"DefaultValue"'):
        if unsupported in text:
            fail(f"the template uses {unsupported}, which this script does not expand (only Fn::ForEach)")
    context = TemplateProcessingContext(
        fragment=copy.deepcopy(template),
        parameter_values=values,
        pseudo_parameters=PseudoParameterValues(
            region=pseudo["AWS::Region"],
            account_id=pseudo["AWS::AccountId"],
            stack_name=pseudo["AWS::StackName"],
            partition=pseudo["AWS::Partition"],
            url_suffix=pseudo["AWS::URLSuffix"],
        ),
        resolution_mode=ResolutionMode.PARTIAL,
    )
    resolver = create_default_intrinsic_resolver(context)
    pipeline = ProcessingPipeline([TemplateParsingProcessor(), ForEachProcessor(intrinsic_resolver=resolver)])
    expanded = pipeline.process_template(context)
    rest = [t for t in transforms if t != "AWS::LanguageExtensions"]
    if rest:
        expanded["Transform"] = rest if len(rest) > 1 else rest[0]
    else:
        expanded.pop("Transform", None)
    return expanded


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template")
    parser.add_argument("--code-bucket", required=True)
    parser.add_argument("--parameters", default="{}", help="JSON object: parameter name -> value")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--account-id", default="123456789012")
    parser.add_argument("--stack-name", default="driftguard")
    args = parser.parse_args()

    try:
        with open(args.template, encoding="utf-8") as source:
            template = yaml_parse(source.read())
    except (OSError, ValueError) as error:
        fail(f"cannot read {args.template}: {error}")
    try:
        parameters = json.loads(args.parameters)
    except ValueError as error:
        fail(f"--parameters is not JSON: {error}")
    if not isinstance(parameters, dict):
        fail("--parameters must be a JSON object")
    # CommaDelimitedList parameters arrive as one string, as CloudFormation takes them.
    declared = template.get("Parameters", {})
    values = {}
    for name, value in parameters.items():
        kind = declared.get(name, {}).get("Type", "String")
        if kind == "CommaDelimitedList" and isinstance(value, str):
            value = [item.strip() for item in value.split(",")] if value else []
        values[name] = value
    pseudo = {
        "AWS::Region": args.region,
        "AWS::AccountId": args.account_id,
        "AWS::StackName": args.stack_name,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }

    # The translator asks boto3's session for the region (partition, ARNs); no call is made.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    try:
        template = expand_language_extensions(template, values, pseudo)
        code_uri_to_s3(template, args.code_bucket)
        translated = transform(template, {**values, **pseudo}, BundledManagedPolicies())
    except Exception as error:  # the translator's errors are many types; each names the problem
        fail(f"translating {args.template}: {type(error).__name__}: {error}")
    json.dump(translated, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
