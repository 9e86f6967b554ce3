"""Running replications and experiments, and reading their results back."""

#: Replications per run or per variant: as many as a scenario's ``replications:`` allows. The
#: results tables store the replication number as int32; the work limit (simsvc.experiment.budget)
#: refuses far fewer for any scenario with contacts, but not a run that asks for none.
MAX_REPLICATIONS = 100_000
