package llmconfig

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/mlsecops/mlsec/format/llmkind"
)

// guardrail checks a guardrail configuration.
func (c *check) guardrail() {
	c.secrets(RuleGuardSecret)
	switch c.res.Dialect {
	case llmkind.DialectNeMo:
		c.plainHTTP()
		c.nemo()
	case llmkind.DialectLlamaGuard:
		c.llamaGuard()
	case llmkind.DialectRAIL:
		c.rail()
	}
}

// nemo checks a NeMo Guardrails config.yml: input and output rail flows,
// and the self-check prompts.
func (c *check) nemo() {
	m, _ := c.res.Doc.(map[string]any)
	rails, _ := m["rails"].(map[string]any)
	for _, side := range []struct {
		name, rule, what string
	}{{"input", RuleNoInputRails, "user input reaches the model unchecked"}, {"output", RuleNoOutputRails, "model output reaches the user unchecked"}} {
		sec, present := rails[side.name].(map[string]any)
		flows, listed := sec["flows"].([]any)
		switch {
		case !present || !listed && sec["flows"] == nil:
			c.report(side.rule, fmt.Sprintf("no rails.%s.flows: %s", side.name, side.what), "rails."+side.name, c.offsetOf("rails:"))
		case listed && len(flows) == 0:
			c.report(RuleAllowsAll, fmt.Sprintf("rails.%s.flows is empty: %s", side.name, side.what), "rails."+side.name, c.offsetOf("flows:"))
		}
	}
	// Self-check prompts must show the model the text they judge.
	prompts, _ := m["prompts"].([]any)
	for i, p := range prompts {
		o, _ := p.(map[string]any)
		task, _ := o["task"].(string)
		content, _ := o["content"].(string)
		if content == "" {
			for _, s := range contentText(o["messages"]) {
				content += s
			}
			if l, ok := o["messages"].([]any); ok {
				for _, e := range l {
					if mo, ok := e.(map[string]any); ok {
						if s, ok := mo["content"].(string); ok {
							content += s
						}
					}
				}
			}
		}
		var need string
		switch {
		case strings.HasPrefix(task, "self_check_input"), strings.HasPrefix(task, "content_safety_check_input"):
			need = "user_input"
		case strings.HasPrefix(task, "self_check_output"), strings.HasPrefix(task, "content_safety_check_output"):
			need = "bot_response"
		default:
			continue
		}
		if !strings.Contains(content, need) {
			c.report(RuleAllowsAll, fmt.Sprintf("prompts[%d] (task %s) never shows the model {{ %s }}: the check judges nothing", i, task, need), task, c.offsetOf(task))
		}
	}
}

var guardCategoryLine = regexp.MustCompile(`(?m)^[SO][0-9]{1,2}[:.]`)

// llamaGuard checks that a Llama Guard policy lists categories.
func (c *check) llamaGuard() {
	if c.res.Doc == nil {
		s := string(c.data)
		i := strings.Index(s, llmkind.LlamaGuardMarker)
		j := strings.Index(s, "<END UNSAFE CONTENT CATEGORIES>")
		if i >= 0 && j > i && !guardCategoryLine.MatchString(s[i:j]) && strings.TrimSpace(s[i+len(llmkind.LlamaGuardMarker):j]) == "" {
			c.report(RuleAllowsAll, "the Llama Guard prompt lists no unsafe content categories", "categories", int64(i))
		}
	}
}

// maxRAILTokens caps the XML tokens read from a RAIL spec.
const maxRAILTokens = 200_000

// rail checks a Guardrails AI RAIL spec: at least one validator whose
// on-fail action can stop or change output.
func (c *check) rail() {
	dec := xml.NewDecoder(strings.NewReader(string(c.data)))
	dec.Strict = false
	var validators, noop int
	for n := 0; ; n++ {
		if n == maxRAILTokens {
			c.limit, c.limitWhy = LimitRAILTokens, fmt.Sprintf("RAIL spec of more than %d XML tokens", maxRAILTokens)
			return
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return // not well-formed: Guardrails refuses it too
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var hasValidator bool
		var actions []string
		for _, a := range se.Attr {
			switch {
			case a.Name.Local == "validators" || a.Name.Local == "format":
				if strings.TrimSpace(a.Value) != "" {
					hasValidator = true
				}
			case strings.HasPrefix(a.Name.Local, "on-fail"):
				actions = append(actions, strings.ToLower(strings.TrimSpace(a.Value)))
			}
		}
		if !hasValidator {
			continue
		}
		validators++
		if len(actions) > 0 && allNoop(actions) {
			noop++
		}
	}
	switch {
	case validators == 0:
		c.report(RuleAllowsAll, "the RAIL spec declares no validators: output is never checked", "rail", 0)
	case noop == validators:
		c.report(RuleAllowsAll, fmt.Sprintf("all %d validators of the RAIL spec have on-fail=\"noop\": failures are ignored", validators), "on-fail", c.offsetOf("noop"))
	}
}

func allNoop(as []string) bool {
	for _, a := range as {
		if a != "noop" {
			return false
		}
	}
	return true
}
