"""Pure domain rules that both the model and the observers apply.

Nothing here runs a simulation or reads a file: calendar arithmetic (weekdays,
opening hours, duty changes), the customer's side of a contact (experience,
satisfaction, churn, survey answers), the journey's vocabulary (stages,
statuses, events), the rule that turns one root seed into a stream per purpose,
and the error a run raises when its own numbers go wrong. Dependencies run one
way: ``model`` and ``observe`` import ``domain``; ``domain`` imports only
``config``.
"""
