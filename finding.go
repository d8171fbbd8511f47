package mlsec

// Location says where inside an artifact a finding was made.
type Location struct {
	// Member is the path of the archive member (nested members joined by
	// "!"), empty for the artifact itself.
	Member string `json:"member,omitempty"`
	// Offset is the byte offset inside the member (or the artifact), or -1
	// when no single offset applies.
	Offset int64 `json:"offset"`
}

// Finding is one detector result: a rule that fired at a location.
type Finding struct {
	RuleID   string   `json:"rule_id"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// Path is the top-level artifact path as the user named it.
	Path     string   `json:"path"`
	Location Location `json:"location"`
	// Subject is the import, call, operator or key involved, e.g. "os.system".
	Subject  string    `json:"subject,omitempty"`
	Mappings []Mapping `json:"mappings,omitempty"`
}

// MaxSeverity returns the highest severity among fs, SeverityNone when empty.
func MaxSeverity(fs []Finding) Severity {
	max := SeverityNone
	for _, f := range fs {
		if f.Severity > max {
			max = f.Severity
		}
	}
	return max
}
