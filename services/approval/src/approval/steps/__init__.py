"""Approval's processing steps, one module each; a step is a few plain functions.

- `submission`: a request enters the workflow (approved at once when a policy rule matches), or
  its requester withdraws it
- `decision`: an approver's decision, checked again here whoever sent it
- `provisioning`: the invitee's TechPass account is created
- `seed`: the invitee's device is booked for SEED onboarding
- `invitation`: the invitation email is asked for (again, at the requester's wish), and its
  delivery or failure recorded
- `next_step`: the step the workflow chose next is started, at once or through `approval.advance`
- `expiry`: requests nobody decided on in time expire
- `failure`: a step whose retries are exhausted fails its request; an operator runs it again

A step function's parameters name what it needs: what the caller hands it (`message`, `request`),
`moves` (the transaction's moves and messages, approval.moves) and any dependency by its name in
`approval.dispatch.Dependencies`. What runs which step is declared once, in `approval.bootstrap`:
the message types and the automatic steps of `approval.advance`.

A new step is a row in the lifecycle table (`approval.workflow`: its verb, the states it leaves
and reaches, and where the next step function leads to it), one module here, and its line in the
bootstrap's tables. Who may decide, and how many approvers in turn, is policy, not a step.
"""
