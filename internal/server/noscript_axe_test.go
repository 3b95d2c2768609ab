package server_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var (
	scriptTagRE   = regexp.MustCompile(`(?is)<script\b[^>]*>.*?</script>`)
	noscriptOpen  = regexp.MustCompile(`(?i)<noscript\b`)
	noscriptClose = regexp.MustCompile(`(?i)</noscript>`)
)

// checkAccessibilityNoScript runs axe-core on the page as a browser without
// JavaScript shows it. axe-core cannot run in that page itself (its promise
// waits on timers, which do not run while scripts are off), so the page's
// document, as the browser built it, is copied into a second tab on the same
// origin, without its scripts and with its <noscript> content shown as
// ordinary elements, and checked there. Nothing is requested from the
// server but the stylesheets: the participant's record is not touched.
func checkAccessibilityNoScript(t *testing.T, ctx context.Context, origin, pageName string) {
	t.Helper()
	html, err := run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatalf("%s: read the page: %v", pageName, err)
	}
	html = scriptTagRE.ReplaceAllString(html, "")
	html = noscriptOpen.ReplaceAllString(html, "<div data-noscript")
	html = noscriptClose.ReplaceAllString(html, "</div>")
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	// Open the tab without a deadline: a deadline on its first use would
	// close it when that use ends.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("%s: open a tab: %v", pageName, err)
	}
	// A same-origin document to write into (the health check answers text),
	// so that the copied page's stylesheets load as the real page's do.
	step(t, tab, pageName+": a tab on the same origin", chromedp.Navigate(origin+"/healthz"))
	cctx, ccancel := context.WithTimeout(tab, 20*time.Second)
	defer ccancel()
	tree, err := chromedp.Call(cctx, page.GetFrameTree, cdp.Empty{})
	if err == nil {
		_, err = chromedp.Call(cctx, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: "<!DOCTYPE html>" + html})
	}
	if err != nil {
		t.Fatalf("%s: copy the page: %v", pageName, err)
	}
	waitFor(t, tab, pageName+": the copied page's styles", `[...document.styleSheets].length > 0 && document.readyState === "complete"`)
	checkAccessibility(t, tab, pageName+" (without JavaScript)")
}
