using System.Globalization;
using System.Net;
using System.Text;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Reports;

/// <summary>
/// The report as one self-contained HTML page for a change board: inline CSS and SVG only (no script, font or
/// image from anywhere, so it opens offline and passes a strict content security policy). Sections: the state
/// machine with the current state highlighted, gate results and findings, the service x surface impact matrix
/// (green and red cells), the rollback plan as an ordered graph, preflight and readiness checks.
/// </summary>
public static class HtmlReport
{
    private static readonly RelocationState[] s_states = Enum.GetValues<RelocationState>();

    public static string Write(ReportInput input)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
            .Append("<title>").Append(E(Title(input))).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(Title(input))).Append("</h1>\n<p class=\"meta\">Estate <code>").Append(E(input.EstateRoot))
            .Append("</code>, generated ").Append(E(ReportWriter.Iso(input.GeneratedUtc))).Append(" by ").Append(E(ReportWriter.ToolName))
            .Append(' ').Append(E(input.ToolVersion)).Append("</p>\n");
        StateMachine(html, input);
        Gates(html, input);
        Impact(html, input);
        Rollback(html, input);
        Checks(html, input);
        Checklist(html, input);
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static string Title(ReportInput input) =>
        input.ChangeId is null ? "InfraRelocation report" : $"InfraRelocation report: {input.ChangeId}";

    private static void StateMachine(StringBuilder html, ReportInput input)
    {
        if (input.State is null)
        {
            return;
        }
        const int w = 130, h = 44, gap = 40;
        var width = s_states.Length * (w + gap);
        html.Append("<section id=\"state\"><h2>State</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<svg class=\"states\" role=\"img\" aria-label=\"relocation state machine\" viewBox=\"0 0 {width} {h + 20}\" width=\"{width}\" height=\"{h + 20}\">\n");
        for (var i = 0; i < s_states.Length; i++)
        {
            var x = 10 + i * (w + gap);
            var name = s_states[i].ToString().ToLowerInvariant();
            var current = string.Equals(name, input.State, StringComparison.OrdinalIgnoreCase);
            html.Append(CultureInfo.InvariantCulture, $"<g class=\"state{(current ? " current" : "")}\" data-state=\"{name}\">")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"10\" width=\"{w}\" height=\"{h}\" rx=\"8\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{x + w / 2}\" y=\"{10 + h / 2 + 5}\">{name}</text></g>\n");
            if (i < s_states.Length - 1)
            {
                html.Append(CultureInfo.InvariantCulture, $"<path class=\"edge\" d=\"M{x + w} {10 + h / 2} h{gap - 6}\"/><path class=\"arrow\" d=\"M{x + w + gap - 6} {10 + h / 2 - 5} l6 5 l-6 5 z\"/>\n");
            }
        }
        html.Append("</svg>\n<p>Current state: <strong class=\"current-state\">").Append(E(input.State)).Append("</strong></p></section>\n");
    }

    private static void Gates(StringBuilder html, ReportInput input)
    {
        if (input.Results.Count == 0)
        {
            return;
        }
        var passed = input.Results.All(r => r.Passed);
        html.Append("<section id=\"gates\"><h2>Gates: <span class=\"").Append(passed ? "pass" : "fail").Append("\">")
            .Append(passed ? "PASS" : "FAIL").Append("</span></h2>\n<table><thead><tr><th>Gate</th><th>Result</th><th>Errors</th><th>Warnings</th><th>Summary</th></tr></thead><tbody>\n");
        foreach (var r in input.Results)
        {
            html.Append("<tr data-gate=\"").Append(E(r.GateId)).Append("\"><td>").Append(E(r.GateId)).Append("</td><td class=\"")
                .Append(r.Passed ? "pass\">pass" : "fail\">FAIL").Append("</td><td>").Append(r.ErrorCount).Append("</td><td>")
                .Append(r.WarningCount).Append("</td><td>").Append(E(r.Summary)).Append("</td></tr>\n");
        }
        html.Append("</tbody></table>\n");
        var findings = input.Results.SelectMany(r => r.Findings).ToList();
        if (findings.Count > 0)
        {
            html.Append("<table class=\"findings\"><thead><tr><th>Severity</th><th>Rule</th><th>Location</th><th>Message</th></tr></thead><tbody>\n");
            foreach (var f in findings)
            {
                html.Append("<tr class=\"").Append(f.Severity == FindingSeverity.Error ? "fail" : "warn").Append("\"><td>")
                    .Append(f.Severity).Append("</td><td><code>").Append(E(f.RuleId)).Append("</code></td><td><code>")
                    .Append(E(f.Location?.ToString())).Append("</code></td><td>").Append(E(f.Message)).Append("</td></tr>\n");
            }
            html.Append("</tbody></table>\n");
        }
        html.Append("</section>\n");
    }

    private static void Impact(StringBuilder html, ReportInput input)
    {
        if (input.Impact.Count == 0)
        {
            return;
        }
        var surfaces = input.Impact.Select(i => i.Surface).Distinct().Order().ToList();
        html.Append("<section id=\"impact\"><h2>Impact: service x surface</h2>\n<table class=\"matrix\"><thead><tr><th>Service</th>");
        foreach (var s in surfaces)
        {
            html.Append("<th>").Append(s).Append("</th>");
        }
        html.Append("</tr></thead><tbody>\n");
        foreach (var service in input.Impact.GroupBy(i => i.Service))
        {
            html.Append("<tr><th scope=\"row\">").Append(E(service.Key)).Append("</th>");
            foreach (var surface in surfaces)
            {
                var item = service.FirstOrDefault(i => i.Surface == surface);
                if (item is null)
                {
                    html.Append("<td class=\"none\"></td>");
                    continue;
                }
                var title = item.Satisfied ? $"{item.File}: {item.RequiredValue}" : $"{item.Location?.ToString() ?? item.File}: {item.CurrentValue ?? "(none)"} -> {item.RequiredValue}";
                html.Append("<td class=\"").Append(item.Satisfied ? "pass" : "fail").Append("\" data-service=\"").Append(E(item.Service))
                    .Append("\" data-surface=\"").Append(item.Surface).Append("\" title=\"").Append(E(title)).Append("\">")
                    .Append(item.Satisfied ? "ok" : E($"{item.CurrentValue ?? "(none)"} \u2192 {item.RequiredValue}")).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table></section>\n");
    }

    private static void Rollback(StringBuilder html, ReportInput input)
    {
        if (input.Rollback.Count == 0)
        {
            return;
        }
        const int w = 900, h = 40, gap = 22;
        var height = input.Rollback.Count * (h + gap);
        html.Append("<section id=\"rollback\"><h2>Rollback plan</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<svg class=\"plan\" role=\"img\" aria-label=\"rollback plan\" viewBox=\"0 0 {w + 20} {height}\" width=\"{w + 20}\" height=\"{height}\">\n");
        for (var i = 0; i < input.Rollback.Count; i++)
        {
            var step = input.Rollback[i];
            var y = 4 + i * (h + gap);
            var label = $"{step.Order}. {step.Kind} {step.Service}{(step.Host is null ? "" : " @ " + step.Host)}";
            html.Append(CultureInfo.InvariantCulture, $"<g class=\"step {step.Kind.ToString().ToLowerInvariant()}\" data-order=\"{step.Order}\" data-service=\"{E(step.Service)}\">")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"10\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"6\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"22\" y=\"{y + 25}\">{E(Shorten(label + ": " + step.Action, 130))}</text>")
                .Append("<title>").Append(E(step.Action)).Append("</title></g>\n");
            if (i < input.Rollback.Count - 1)
            {
                html.Append(CultureInfo.InvariantCulture, $"<path class=\"edge\" d=\"M{10 + w / 2} {y + h} v{gap - 6}\"/><path class=\"arrow\" d=\"M{10 + w / 2 - 5} {y + h + gap - 6} l5 6 l5 -6 z\"/>\n");
            }
        }
        html.Append("</svg></section>\n");
    }

    private static void Checks(StringBuilder html, ReportInput input)
    {
        if (input.Checks.Count == 0)
        {
            return;
        }
        html.Append("<section id=\"checks\"><h2>Preflight and readiness</h2>\n<table><thead><tr><th>Source</th><th>Subject</th><th>Check</th><th>Status</th><th>Evidence</th></tr></thead><tbody>\n");
        foreach (var c in input.Checks)
        {
            html.Append("<tr><td>").Append(E(c.Source)).Append("</td><td>").Append(E(c.Subject)).Append("</td><td>").Append(E(c.Check))
                .Append("</td><td class=\"").Append(c.Status switch { "OK" => "pass", "FAIL" => "fail", _ => "warn" }).Append("\">")
                .Append(E(c.Status)).Append("</td><td>").Append(E(c.Evidence)).Append("</td></tr>\n");
        }
        html.Append("</tbody></table></section>\n");
    }

    private static void Checklist(StringBuilder html, ReportInput input)
    {
        foreach (var phase in input.Checklist.GroupBy(i => i.Phase))
        {
            var list = phase.ToList();
            var title = ReportWriter.ChecklistTitle(phase.Key);
            html.Append("<section id=\"checklist-").Append(E(phase.Key.ToString().ToLowerInvariant())).Append("\"><h2>Checklist: ").Append(E(title))
                .Append(" (").Append(list.Count(i => i.IsDone)).Append(" of ").Append(list.Count).Append(" done)</h2>\n")
                .Append("<table><thead><tr><th>#</th><th>State</th><th>Item</th><th>Evidence</th><th>Next</th></tr></thead><tbody>\n");
            foreach (var i in list)
            {
                html.Append("<tr><td>").Append(i.Order).Append("</td><td class=\"")
                    .Append(i.State switch { ChecklistItemState.Done => "pass", ChecklistItemState.Overridden => "warn", ChecklistItemState.Failed => "fail", _ => "none" })
                    .Append("\">").Append(E(i.State.ToString())).Append("</td><td>").Append(E(i.Title)).Append("</td><td>").Append(E(i.Evidence))
                    .Append("</td><td>").Append(i.Command is null ? "" : "<code>" + E(i.Command) + "</code>").Append("</td></tr>\n");
            }
            html.Append("</tbody></table></section>\n");
        }
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "\u2026";

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    private const string Css = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1f2328; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
        .meta { color: #57606a; }
        table { border-collapse: collapse; margin: 8px 0; }
        th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
        thead th { background: #f6f8fa; }
        .pass { background: #dafbe1; color: #116329; }
        .fail { background: #ffebe9; color: #a40e26; font-weight: 600; }
        .warn { background: #fff8c5; color: #7d4e00; }
        .none { background: #f6f8fa; }
        svg text { font: 13px system-ui, sans-serif; }
        .states rect { fill: #f6f8fa; stroke: #8c959f; }
        .states text { text-anchor: middle; fill: #57606a; }
        .states .current rect { fill: #0969da; stroke: #0550ae; stroke-width: 2; }
        .states .current text { fill: #ffffff; font-weight: 700; }
        .edge { stroke: #8c959f; stroke-width: 2; fill: none; } .arrow { fill: #8c959f; }
        .plan rect { fill: #ffffff; stroke: #8c959f; }
        .plan .revert rect { fill: #ddf4ff; } .plan .verify rect { fill: #dafbe1; } .plan .stop rect { fill: #ffebe9; }
        """;
}
