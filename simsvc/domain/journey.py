"""The journey's vocabulary as integer codes: stages, customer statuses, journey events.

The model writes these codes into its records and the observers turn them back
into names (``STAGES`` in :mod:`simsvc.config.customers`, ``STATUSES``,
``EVENTS``, ``SOURCES`` here), so both import them from this one place.
"""
from __future__ import annotations

# Stages of the service cycle, in order (indices into config.customers.STAGES).
NEED, SEARCH, EVALUATION, PURCHASE, USAGE, POST_PURCHASE, LOYALTY = range(7)

# Customer status.
ACTIVE, LOST_PROSPECT, CHURNED, LAPSED = range(4)
STATUSES = ("active", "lost_prospect", "churned", "lapsed")

# Journey events (one row each in journey_events): what happened to a customer when.
ACQUIRED, STAGE, PURCHASED, DROPPED, CHURN, LAPSE, REFERRAL, CONTACT, FOLLOWUP = range(9)
EVENTS = ("acquired", "stage", "purchase", "lost_prospect", "churn", "lapse", "referral", "contact",
          "followup")
# detail of ACQUIRED: how the customer came; of CHURN: when it was decided.
SOURCES = ("initial", "acquisition", "referral")
AT_EVALUATION, AFTER_CONTACT = 0, 1
