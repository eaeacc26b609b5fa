"""Deploying a stage into an AWS account: ``make deploy STAGE=dev|prod`` and its rehearsal.

Never imported by Lambda code (Chalice packages only app.py, chalicelib/ and vendor/). One code path serves a
real deploy and the rehearsal against the embedded AWS (``make deploy-rehearsal``); they differ only in the
endpoint and in how the infra resources are created (CloudFormation, or the local provisioner that builds the
same template in moto, whose CloudFormation skips several of its resource types).
"""
