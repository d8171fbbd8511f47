// Package browser starts the headless Chromium (Debian's chromium, which
// .ci/run installs) that the dashboard and figure tests drive with chromedp.
package browser

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// New returns a chromedp context on a fresh headless Chromium with a window
// of width × height and a 90 s deadline; the browser is stopped when t ends.
// It skips t when Chromium is not installed or in -short mode.
func New(t testing.TB, width, height int) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if chromium, err = exec.LookPath("chromium-browser"); err != nil {
			t.Skip("chromium not installed (apt-get install chromium; .ci/run installs it): skipping the browser test")
		}
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// No UserDataDir: chromedp makes its own profile directory and
		// removes it after the browser exits; a t.TempDir cleanup raced
		// with Chromium's helper processes still writing to it.
		chromedp.WindowSize(width, height),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	return ctx
}
