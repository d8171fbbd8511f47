package report

import "testing"

func TestSARIFURI(t *testing.T) {
	tests := []struct{ path, want string }{
		{"models/evil.pkl", "models/evil.pkl"},
		{"./evil.pkl", "evil.pkl"},
		{"my model/w #1.pt", "my%20model/w%20%231.pt"},
		{"100%.pkl", "100%25.pkl"},
		{"c:d.pkl", "./c:d.pkl"}, // not a URI scheme
		{"/tmp/x/evil.pkl", "file:///tmp/x/evil.pkl"},
	}
	for _, tt := range tests {
		if got := uri(tt.path); got != tt.want {
			t.Errorf("uri(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
