"""What the tests share. No test imports another test module (ruff's banned-api rule, pyproject.toml); a helper
two test modules need lives here, in the module for its kind of work:

- ``data``: the standard registration list, events, waves, forms and answers; ``row()`` and ``big_list()``.
- ``clock``: the application's frozen, movable clock (``container.now``).
- ``stack``: the in-process embedded AWS: the app's environment, moto's Cognito keys, the outbox, the send
  queue drained as the Lambda trigger does (``Stack.deliver()``).
- ``api``: the admin JSON API through the Chalice test client (events, imports, waves, send now, the cron).
- ``mail``: reading the outbox: recipients, parts, personal links, SES's reports fed back.
- ``visitor``: the dashboard as a browser uses it (cookies, forms, CSRF, sign-in).
- ``live``: the local stack over HTTP for the end-to-end tests, and axe-core's verdict on a page.
- ``machines``: DynamoDB faults, captured output and step counts for the state machines.
- ``gateway``: API Gateway's ways in (stage URL, custom domain, base-path mapping) in front of the test client.
- ``iam_policy``, ``iam_recorder``, ``iam_driver``: the policy files and an IAM matcher; a recorder of the app's
  AWS calls; a driver that runs every entry point of the app.
- ``cognito``, ``totp``, ``template``, ``emf``, ``paths``, ``personal_data``: users and their groups, made as an
  administrator makes them (``Pool``); the codes an authenticator app computes; the CloudFormation template; EMF
  metrics read from stdout; where artefacts go; what counts as personal data.
"""
