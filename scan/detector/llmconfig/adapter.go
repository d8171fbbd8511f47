package llmconfig

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	commitRev = regexp.MustCompile(`^[0-9a-f]{40}$`)
	hubID     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$`)
)

// adapter checks a PEFT adapter_config.json.
func (c *check) adapter() {
	m, _ := c.res.Doc.(map[string]any)
	base, _ := m["base_model_name_or_path"].(string)
	rev, _ := m["revision"].(string)
	baseOff := c.offsetOf(`"base_model_name_or_path"`)
	switch {
	case strings.TrimSpace(base) == "":
		c.report(RuleBaseUnknown, "adapter_config.json names no base model (base_model_name_or_path)", "base_model_name_or_path", baseOff)
	case strings.HasPrefix(strings.ToLower(base), "http://"):
		c.report(RuleBaseUnknown, fmt.Sprintf("base model %q is fetched over plaintext HTTP", base), base, baseOff)
	case filepath.IsAbs(base) || strings.HasPrefix(base, "./") || strings.HasPrefix(base, "../") || strings.HasPrefix(base, "~") || !hubID.MatchString(base) && !strings.HasPrefix(base, "https://"):
		c.report(RuleBaseUnknown, fmt.Sprintf("base model %q is a local path, not a repository id", base), base, baseOff)
	default:
		if !commitRev.MatchString(rev) {
			what := "no revision"
			if rev != "" {
				what = fmt.Sprintf("revision %q (a branch or tag, not a commit)", rev)
			}
			c.report(RuleUnpinnedBase, fmt.Sprintf("base model %s has %s: the merged model follows whatever the repository holds", base, what), base, baseOff)
		}
	}
	if base != "" {
		if ok, configured := c.d.lineage.BaseAllowed(base); configured && !ok {
			c.report(RuleBaseNotAllow, fmt.Sprintf("base model %q is not in lineage.allowed_base_models", base), base, baseOff)
		}
	}
	if am, ok := m["auto_mapping"].(map[string]any); ok {
		lib, _ := am["parent_library"].(string)
		top, _, _ := strings.Cut(lib, ".")
		if lib != "" && top != "transformers" && top != "peft" {
			c.report(RuleAdapterImport, fmt.Sprintf("auto_mapping.parent_library %q is imported when AutoPeftModel loads the adapter", lib), lib, c.offsetOf(`"parent_library"`))
		}
	}
}
