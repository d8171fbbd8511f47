package ui

import (
	"regexp"
	"strings"
	"testing"
)

func TestLineageSVG(t *testing.T) {
	// a → b → c plus a cycle c → a: layering must terminate.
	svg := string(LineageSVG(
		[]GraphNode{{ID: "sha256:aaaa", Label: "a", Focus: true}, {ID: "sha256:bbbb", Label: "b", Href: "/artifacts/sha256:bbbb"}},
		[]GraphEdge{{From: "sha256:aaaa", To: "sha256:bbbb", Label: "trainedOn"}, {From: "sha256:bbbb", To: "sha256:cccc"}, {From: "sha256:cccc", To: "sha256:aaaa"}},
	))
	if n := strings.Count(svg, `class="node"`); n != 3 {
		t.Errorf("%d nodes, want 3 (c is added from the edges)", n)
	}
	if n := strings.Count(svg, `class="edge"`); n != 3 {
		t.Errorf("%d edges, want 3", n)
	}
	if !strings.Contains(svg, `stroke="#e65100" stroke-width="3"`) || !strings.Contains(svg, `<a href="/artifacts/sha256:bbbb">`) {
		t.Error("focus node or link missing")
	}
	// b is right of a.
	xs := regexp.MustCompile(`data-id="(sha256:[a-c]+)">(?:<a [^>]*>)?<title>[^<]*</title><rect x="(\d+)"`).FindAllStringSubmatch(svg, -1)
	pos := map[string]string{}
	for _, m := range xs {
		pos[m[1]] = m[2]
	}
	if pos["sha256:aaaa"] != "20" || pos["sha256:bbbb"] == "20" {
		t.Errorf("node x positions %v", pos)
	}
}
