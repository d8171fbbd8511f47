package secret

import "testing"

// Provider shapes are found; placeholders and low-entropy look-alikes are
// not (more cases in the llmconfig and agent detector tests).
func TestFind(t *testing.T) {
	f := New()
	for _, tt := range []struct {
		s, want string
	}{
		{"token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 here", "GitHub token"},
		{"GITLAB=glpat-Zx81kQm2Lr7Vw3Np9Tb4", "GitLab token"},
		{"key AKIAQ3EGRV7ZLUXPK2DM", "AWS access key id"},
		{"api_key = 'Q7v9x2LmP4rT8wZ1'", "credential assigned to api_key"},
		{"postgres://app:S3cr3tPassw0rd@db.internal/x", "password in a URL"},
		{"sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ""},
		{"AKIAIOSFODNN7EXAMPLE", ""},
		{"password = your-password-here", ""},
	} {
		ms := f.Find(tt.s)
		got := ""
		if len(ms) > 0 {
			got = ms[0].What
		}
		if got != tt.want {
			t.Errorf("Find(%q) = %q (%v), want %q", tt.s, got, ms, tt.want)
		}
	}
	if !f.Key("OPENAI_API_KEY") || f.Key("model_name") {
		t.Error("Key")
	}
	if !f.Value("Zx81kQm2Lr7Vw3Np") || f.Value("${OPENAI_API_KEY}") {
		t.Error("Value")
	}
}
