package postgres

// The statements of the answer path, for the plan tests of package
// postgres_test (answer_plans_test.go).
var (
	SubmitBySessionSQL    = submitBySessionSQL
	ShowTrialBySessionSQL = showTrialBySessionSQL
)
