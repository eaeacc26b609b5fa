"""Checks before anything is created: who the credentials are, and whether SES can send as the sender here."""

from __future__ import annotations

from dataclasses import dataclass

from deploy.aws import Account, advice
from deploy.stage import DeployError

SANDBOX_DAILY_QUOTA = 200.0


@dataclass(frozen=True)
class SesReadiness:
    identities: list[str]  # the verified identities the sender sends through: the address, its domain, or both
    sandbox: bool
    max_send_rate: float


def check_ses(account: Account, sender: str) -> SesReadiness:
    """The sender's verified identities in this region; a clear error when there is none."""
    domain = sender.rpartition("@")[2]
    ses = account.client("ses")
    with advice(f"checking SES in {account.region}"):
        found = ses.get_identity_verification_attributes(Identities=[sender, domain])["VerificationAttributes"]
        quota = ses.get_send_quota()
    verified = [i for i in (sender, domain) if found.get(i, {}).get("VerificationStatus") == "Success"]
    if not verified:
        pending = [i for i in (sender, domain) if found.get(i, {}).get("VerificationStatus") == "Pending"]
        state = f" ({', '.join(pending)} is still pending)" if pending else ""
        raise DeployError(
            f"SES in {account.region} has no verified identity for {sender}{state}. Verify the domain {domain} "
            f"(Easy DKIM: add the three CNAME records SES shows) or the address itself, in the SES console of "
            f"{account.region} (aws sesv2 create-email-identity --email-identity {domain} --region "
            f"{account.region}), wait for 'Verified', then re-run"
        )
    return SesReadiness(
        identities=verified,
        sandbox=float(quota.get("Max24HourSend", 0)) <= SANDBOX_DAILY_QUOTA,
        max_send_rate=float(quota.get("MaxSendRate", 1)),
    )
