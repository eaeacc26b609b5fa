"""``python -m deploy``: deploy, check or tear down a stage (``make deploy``, ``make destroy``), or rehearse it all
against a fresh embedded AWS (``make deploy-rehearsal``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from deploy.stage import DeployError

if TYPE_CHECKING:
    from deploy.aws import Account


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
    user = commands.add_parser("user", help="invite a dashboard user to a deployed stage (Cognito sends the email)")
    user.add_argument("--stage", required=True)
    user.add_argument("--region")
    user.add_argument("--email", required=True)
    user.add_argument("--role", choices=("admin", "viewer"), required=True)
    user.add_argument(
        "--events",
        default="all",
        help="'all' (group events:all: every event, and for an admin creating events) or event IDs, comma-separated",
    )
    out = commands.add_parser(
        "revoke", help="end a dashboard user's access at once: every session of theirs, on every route"
    )
    out.add_argument("--stage", required=True)
    out.add_argument("--region")
    out.add_argument("--email", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "rehearse":
            from deploy.rehearsal import rehearse

            return rehearse()
        if args.command == "deploy":
            return _deploy(args)
        if args.command == "user":
            return _user(args)
        if args.command == "revoke":
            return _revoke(args)
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


def _deployed(args: argparse.Namespace) -> tuple[Account, dict[str, str]]:
    """The account of the current credentials and the deployed stage's outputs (DeployError if not deployed)."""
    from deploy.aws import Account
    from deploy.infra import CloudFormationInfra
    from deploy.stage import Stage

    stage = Stage.named(args.stage)
    account = Account.from_environment(args.region)
    outputs = CloudFormationInfra(account).outputs(stage)
    if not outputs:
        raise DeployError(f"stage {stage.name} is not deployed here: make deploy STAGE={stage.name} first")
    return account, outputs


def _user(args: argparse.Namespace) -> int:
    from deploy.aws import advice

    account, outputs = _deployed(args)
    idp = account.client("cognito-idp")
    with advice(f"inviting a user to {outputs['UserPoolId']}"):
        try:
            idp.admin_create_user(
                UserPoolId=outputs["UserPoolId"],
                Username=args.email,
                UserAttributes=[{"Name": "email", "Value": args.email}, {"Name": "email_verified", "Value": "true"}],
                DesiredDeliveryMediums=["EMAIL"],
            )
        except idp.exceptions.UsernameExistsException:
            print("That user exists already; adding the role.")
        idp.admin_add_user_to_group(UserPoolId=outputs["UserPoolId"], Username=args.email, GroupName=args.role)
        scope = [e.strip() for e in args.events.split(",") if e.strip()]
        groups = ["events:all"] if scope == ["all"] else [f"event:{e}" for e in scope]
        for group in groups:
            try:
                idp.create_group(UserPoolId=outputs["UserPoolId"], GroupName=group)
            except idp.exceptions.GroupExistsException:
                pass
            idp.admin_add_user_to_group(UserPoolId=outputs["UserPoolId"], Username=args.email, GroupName=group)
    seen = "every event" if groups == ["events:all"] else f"{len(groups)} event(s)" if groups else "no event yet"
    print(
        f"Invited as {args.role}, seeing {seen}: Cognito emails a temporary password; the first sign-in at "
        "/dashboard sets one."
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from deploy.access import revoke
    from deploy.aws import advice

    account, outputs = _deployed(args)
    with advice(f"signing a user out of {outputs['UserPoolId']}"):
        revoke(account.client("cognito-idp"), account.client("dynamodb"), outputs, args.email, datetime.now(UTC))
    print(
        "Signed out everywhere: every token of theirs is refused from now on. To take a role or an event away, "
        "change their groups in the user pool as well; their next sign-in carries the groups they have then."
    )
    return 0


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
