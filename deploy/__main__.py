"""``python -m deploy``: deploy, check or tear down a stage (``make deploy``, ``make destroy``), or rehearse it all
against a fresh embedded AWS (``make deploy-rehearsal``)."""

from __future__ import annotations

import argparse
import sys

from deploy.stage import DeployError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("deploy", help="deploy or update a stage in the account of the current credentials")
    up.add_argument("--stage", required=True)
    up.add_argument("--region", help="default: the credentials' region (AWS_REGION)")
    up.add_argument("--sender", help="From address, verified in SES (needed on the first deploy; remembered)")
    up.add_argument("--public-base-url", help="custom domain for links, e.g. https://surveys.example.org (remembered)")
    up.add_argument("--alarm-email", help="address subscribed to the alarms (remembered)")
    down = commands.add_parser("destroy", help="delete a stage: its functions, API and infra stack")
    down.add_argument("--stage", required=True)
    down.add_argument("--region")
    down.add_argument("--delete-data", action="store_true", help="also the tables, user pool and secrets")
    down.add_argument("--confirm", default="", help="the stage's prefix (event-feedback-<stage>), to confirm")
    commands.add_parser("rehearse", help="deploy dev into a fresh embedded AWS, check it, tear it down")
    args = parser.parse_args(argv)
    try:
        if args.command == "rehearse":
            from deploy.rehearsal import rehearse

            return rehearse()
        if args.command == "deploy":
            return _deploy(args)
        return _destroy(args)
    except DeployError as exc:
        print(f"\nmake deploy stopped: {exc}", file=sys.stderr)
        return 2


def _deploy(args: argparse.Namespace) -> int:
    from deploy.aws import Account
    from deploy.deploying import Options, deploy
    from deploy.infra import CloudFormationInfra
    from deploy.reporting import verify_and_report
    from deploy.smoke import HttpTransport
    from deploy.stage import Stage

    stage = Stage.named(args.stage)
    account = Account.from_environment(args.region)
    options = Options(sender=args.sender, public_base_url=args.public_base_url, alarm_email=args.alarm_email)
    deployed = deploy(stage, account, CloudFormationInfra(account), options)
    transport = HttpTransport(deployed.api_url, account, stage.function_names)
    return verify_and_report(deployed, transport)


def _destroy(args: argparse.Namespace) -> int:
    from deploy.aws import Account
    from deploy.deploying import destroy
    from deploy.infra import CloudFormationInfra
    from deploy.stage import Stage

    stage = Stage.named(args.stage)
    if args.confirm != stage.prefix:
        raise DeployError(f"to tear down stage {stage.name}, confirm with CONFIRM={stage.prefix}")
    account = Account.from_environment(args.region)
    destroy(stage, account, CloudFormationInfra(account), data=args.delete_data)
    print(f"Stage {stage.name} is gone" + ("." if args.delete_data else "; its tables, user pool and secrets remain."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
