using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Reports;

/// <summary>What a report is about: the gate results and where they came from.</summary>
public sealed record ReportInput
{
    public IReadOnlyList<GateResult> Results { get; init; } = [];
    /// <summary>Absolute estate root (SARIF's base URI for relative file paths).</summary>
    public string EstateRoot { get; init; } = "";
    public string ToolVersion { get; init; } = "0.0.0";
    public DateTimeOffset GeneratedUtc { get; init; } = DateTimeOffset.UtcNow;
    public string? RunId { get; init; }
    /// <summary>How long the reported runs took (JUnit's time).</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>The active relocation, from the receipts given (null when none said).</summary>
    public string? ChangeId { get; init; }
    /// <summary>The relocation state as written in the manifest, from the receipts given.</summary>
    public string? State { get; init; }
    /// <summary>Get-RelocationImpact's items: the service x surface matrix.</summary>
    public IReadOnlyList<ImpactItem> Impact { get; init; } = [];
    /// <summary>Get-RelocationRollbackPlan's steps, in order.</summary>
    public IReadOnlyList<RollbackStep> Rollback { get; init; } = [];
    /// <summary>Preflight and readiness checks, one row each.</summary>
    public IReadOnlyList<ReportCheck> Checks { get; init; } = [];
    /// <summary>Get-RelocationChecklist's items, in the protocol's order.</summary>
    public IReadOnlyList<ChecklistItem> Checklist { get; init; } = [];
    /// <summary>Where the repository (git work tree) starts, for SARIF locations GitHub can place; null outside one.</summary>
    public string? RepositoryRoot { get; init; }
    /// <summary>The report is about something: gates, impact, rollback, checks or the checklist.</summary>
    public bool IsEmpty => Results.Count == 0 && Impact.Count == 0 && Rollback.Count == 0 && Checks.Count == 0 && Checklist.Count == 0;
}

/// <summary>One preflight or readiness check in a report: OK, FAIL or SKIP with its evidence.</summary>
public sealed record ReportCheck(string Source, string Subject, string Check, string Status, string Evidence);

/// <summary>Writes gate results as JSON, SARIF 2.1.0, JUnit XML or Markdown. Output is deterministic for a given input.</summary>
public static class ReportWriter
{
    public const string ToolName = "InfraRelocation";
    public const string InformationUri = "https://github.com/infrarelocation/InfraRelocation";

    public static string Write(ReportInput input, ReportFormat format) => format switch
    {
        ReportFormat.Json => Json(input),
        ReportFormat.Sarif => Sarif(input),
        ReportFormat.JUnit => JUnit(input),
        ReportFormat.Markdown => Markdown(input),
        ReportFormat.Html => HtmlReport.Write(input),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>
    /// Findings that came without their gate result, as one result per gate: the gate is the rule id's prefix
    /// (<c>D35.x</c> → <c>D35</c>; <c>YAML.*</c> belongs to <see cref="GateIds.Schema"/>); a gate passes when none is an error.
    /// </summary>
    public static IEnumerable<GateResult> GroupByGate(IEnumerable<RelocationFinding> findings) =>
        findings.GroupBy(f => GateOf(f.RuleId)).Select(group =>
        {
            var list = group.ToList();
            return new GateResult { GateId = group.Key, Passed = list.TrueForAll(f => f.Severity != FindingSeverity.Error), Findings = list };
        });

    /// <summary>Writes report text to a file (UTF-8 without BOM, replaced atomically, folder created); I/O failures are <c>ReportWriteFailed</c>.</summary>
    public static void Save(string fullPath, string text)
    {
        try
        {
            AtomicFile.Write(fullPath, new UTF8Encoding(false).GetBytes(Secrets.SecretMask.Mask(text)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RelocationException("ReportWriteFailed", FailureKind.WriteError, $"Cannot write {fullPath}: {ex.Message}", target: fullPath, inner: ex);
        }
    }

    private static string GateOf(string ruleId)
    {
        var dot = ruleId.IndexOf('.', StringComparison.Ordinal);
        var prefix = dot < 0 ? ruleId : ruleId[..dot];
        return prefix is "YAML" ? GateIds.Schema : prefix;
    }

    private static string Level(FindingSeverity s) => s switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "note",
    };

    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void Located(Utf8JsonWriter w, string name, SourceLocation? l)
    {
        if (l is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        w.WriteString("file", l.File);
        w.WriteNumber("line", l.Line);
        w.WriteNumber("column", l.Column);
        w.WriteEndObject();
    }

    private static string WithWriter(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            body(w);
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Json(ReportInput input) => WithWriter(w =>
    {
        w.WriteStartObject();
        w.WriteString("$schema", JsonSchemaId);
        w.WriteString("schemaVersion", JsonSchemaVersion);
        w.WriteString("tool", ToolName);
        w.WriteString("version", input.ToolVersion);
        w.WriteString("generatedUtc", Iso(input.GeneratedUtc));
        w.WriteString("estateRoot", input.EstateRoot);
        if (input.RunId is not null)
        {
            w.WriteString("runId", input.RunId);
        }
        var passed = input.Results.All(r => r.Passed);
        w.WriteBoolean("passed", passed);
        w.WriteNumber("exitCode", passed ? GateExitCode.Pass : GateExitCode.Findings);
        w.WriteStartArray("gates");
        foreach (var r in input.Results)
        {
            w.WriteStartObject();
            w.WriteString("gateId", r.GateId);
            w.WriteBoolean("passed", r.Passed);
            w.WriteString("summary", r.Summary);
            w.WriteNumber("checked", r.Checked);
            w.WriteNumber("errors", r.ErrorCount);
            w.WriteNumber("warnings", r.WarningCount);
            w.WriteStartArray("findings");
            foreach (var f in r.Findings)
            {
                w.WriteStartObject();
                w.WriteString("ruleId", f.RuleId);
                w.WriteString("severity", f.Severity.ToString());
                w.WriteString("message", f.Message);
                Located(w, "location", f.Location);
                w.WriteString("documentPath", f.DocumentPath);
                w.WriteString("subject", f.Subject);
                Located(w, "relatedLocation", f.RelatedLocation);
                w.WriteString("expected", f.Expected);
                w.WriteString("actual", f.Actual);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (input.State is not null || input.ChangeId is not null)
        {
            w.WriteString("changeId", input.ChangeId);
            w.WriteString("state", input.State);
        }
        w.WriteStartArray("impact");
        foreach (var i in input.Impact)
        {
            w.WriteStartObject();
            w.WriteString("service", i.Service);
            w.WriteString("surface", i.Surface.ToString());
            w.WriteString("file", i.File);
            Located(w, "location", i.Location);
            w.WriteString("documentPath", i.DocumentPath);
            w.WriteString("currentValue", i.CurrentValue);
            w.WriteString("requiredValue", i.RequiredValue);
            w.WriteBoolean("satisfied", i.Satisfied);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("rollback");
        foreach (var r in input.Rollback)
        {
            w.WriteStartObject();
            w.WriteNumber("order", r.Order);
            w.WriteString("service", r.Service);
            w.WriteString("kind", r.Kind.ToString());
            w.WriteString("host", r.Host);
            w.WriteString("action", r.Action);
            Located(w, "location", r.Location);
            w.WriteString("revertTo", r.RevertTo);
            w.WriteString("command", r.Command);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("checks");
        foreach (var c in input.Checks)
        {
            w.WriteStartObject();
            w.WriteString("source", c.Source);
            w.WriteString("subject", c.Subject);
            w.WriteString("check", c.Check);
            w.WriteString("status", c.Status);
            w.WriteString("evidence", c.Evidence);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("checklist");
        foreach (var item in input.Checklist)
        {
            w.WriteStartObject();
            w.WriteString("phase", item.Phase.ToString());
            w.WriteNumber("order", item.Order);
            w.WriteString("id", item.Id);
            w.WriteString("title", item.Title);
            w.WriteString("state", item.State.ToString());
            w.WriteString("evidence", item.Evidence);
            w.WriteString("runId", item.RunId);
            w.WriteString("evidenceUtc", item.EvidenceUtc is { } t ? Iso(t) : null);
            w.WriteString("command", item.Command);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>The JSON report's schema (docs/schemas/report.schema.json); the version changes when a field changes meaning or goes away.</summary>
    public const string JsonSchemaVersion = "1.0";
    public const string JsonSchemaId = InformationUri + "/blob/main/docs/schemas/report.schema.json";

    public static string Sarif(ReportInput input) => WithWriter(w =>
    {
        var findings = input.Results.SelectMany(r => r.Findings.Select(f => (Gate: r.GateId, Finding: f))).ToList();
        var rules = findings.Select(x => x.Finding.RuleId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var ruleIndex = rules.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
        var estateRoot = string.IsNullOrEmpty(input.EstateRoot) ? Environment.CurrentDirectory : input.EstateRoot;
        // GitHub places results by paths relative to the repository root: the estate's own path inside the
        // repository prefixes every file, and %SRCROOT% names the checkout.
        var baseFolder = input.RepositoryRoot ?? estateRoot;
        var prefix = input.RepositoryRoot is null ? "" : Path.GetRelativePath(input.RepositoryRoot, estateRoot).Replace('\\', '/');
        prefix = prefix is "." or "" ? "" : prefix.TrimEnd('/') + "/";
        var rootUri = new Uri(Path.TrimEndingDirectorySeparator(baseFolder) + Path.DirectorySeparatorChar).AbsoluteUri;

        w.WriteStartObject();
        w.WriteString("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
        w.WriteString("version", "2.1.0");
        w.WriteStartArray("runs");
        w.WriteStartObject();
        w.WriteStartObject("tool");
        w.WriteStartObject("driver");
        w.WriteString("name", ToolName);
        w.WriteString("version", input.ToolVersion);
        w.WriteString("informationUri", InformationUri);
        w.WriteStartArray("rules");
        foreach (var id in rules)
        {
            var sample = findings.First(x => x.Finding.RuleId == id);
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("name", id.Replace(".", "", StringComparison.Ordinal));
            var rule = RuleText.For(id, sample.Gate);
            w.WriteStartObject("shortDescription");
            w.WriteString("text", rule.Short);
            w.WriteEndObject();
            w.WriteStartObject("fullDescription");
            w.WriteString("text", rule.Full);
            w.WriteEndObject();
            w.WriteString("helpUri", rule.HelpUri);
            w.WriteStartObject("help");
            w.WriteString("text", rule.Help);
            w.WriteString("markdown", rule.HelpMarkdown);
            w.WriteEndObject();
            w.WriteStartObject("defaultConfiguration");
            w.WriteString("level", Level(sample.Finding.Severity));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("automationDetails");
        w.WriteString("id", $"{ToolName}/{(findings.Count == 0 ? "gates" : string.Join("-", input.Results.Select(r => r.GateId)))}/{input.RunId ?? Iso(input.GeneratedUtc)}");
        w.WriteEndObject();
        w.WriteStartObject("originalUriBaseIds");
        w.WriteStartObject(SourceRoot);
        w.WriteString("uri", rootUri);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartArray("results");
        foreach (var (gate, f) in findings)
        {
            w.WriteStartObject();
            w.WriteString("ruleId", f.RuleId);
            w.WriteNumber("ruleIndex", ruleIndex[f.RuleId]);
            w.WriteString("level", Level(f.Severity));
            w.WriteStartObject("message");
            w.WriteString("text", f.Message);
            w.WriteEndObject();
            w.WriteStartArray("locations");
            if (f.Location is not null)
            {
                w.WriteStartObject();
                PhysicalLocation(w, f.Location, prefix);
                if (f.DocumentPath is not null || f.Subject is not null)
                {
                    w.WriteStartArray("logicalLocations");
                    w.WriteStartObject();
                    w.WriteString("fullyQualifiedName", f.DocumentPath ?? f.Subject);
                    if (f.Subject is not null)
                    {
                        w.WriteString("name", f.Subject);
                    }
                    w.WriteEndObject();
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (f.RelatedLocation is not null)
            {
                w.WriteStartArray("relatedLocations");
                w.WriteStartObject();
                w.WriteNumber("id", 1);
                PhysicalLocation(w, f.RelatedLocation, prefix);
                w.WriteStartObject("message");
                w.WriteString("text", f.Actual is null ? "other side of the disagreement" : $"says {f.Actual}");
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteStartObject("properties");
            w.WriteString("gate", gate);
            if (f.Subject is not null) w.WriteString("subject", f.Subject);
            if (f.Expected is not null) w.WriteString("expected", f.Expected);
            if (f.Actual is not null) w.WriteString("actual", f.Actual);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>SARIF's conventional name for the checkout root (GitHub resolves it to the repository).</summary>
    private const string SourceRoot = "%SRCROOT%";

    private static void PhysicalLocation(Utf8JsonWriter w, SourceLocation l, string prefix)
    {
        w.WriteStartObject("physicalLocation");
        w.WriteStartObject("artifactLocation");
        w.WriteString("uri", prefix + l.File.Replace('\\', '/'));
        w.WriteString("uriBaseId", SourceRoot);
        w.WriteEndObject();
        w.WriteStartObject("region");
        w.WriteNumber("startLine", Math.Max(1, l.Line));
        w.WriteNumber("startColumn", Math.Max(1, l.Column));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static string JUnit(ReportInput input)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false };
        var sb = new StringBuilder();
        using (var sw = new Utf8StringWriter(sb))
        using (var x = XmlWriter.Create(sw, settings))
        {
            var suites = input.Results.Select(r => (Result: r, Cases: Cases(r))).ToList();
            x.WriteStartElement("testsuites");
            x.WriteAttributeString("name", ToolName);
            x.WriteAttributeString("tests", suites.Sum(s => s.Cases.Count).ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("failures", suites.Sum(s => s.Cases.Count(c => c.Errors.Count > 0)).ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("timestamp", Iso(input.GeneratedUtc));
            x.WriteAttributeString("time", Seconds(input.Duration));
            foreach (var (result, cases) in suites)
            {
                x.WriteStartElement("testsuite");
                x.WriteAttributeString("name", result.GateId);
                x.WriteAttributeString("tests", cases.Count.ToString(CultureInfo.InvariantCulture));
                x.WriteAttributeString("failures", cases.Count(c => c.Errors.Count > 0).ToString(CultureInfo.InvariantCulture));
                x.WriteAttributeString("errors", "0");
                x.WriteAttributeString("skipped", "0");
                x.WriteAttributeString("time", Seconds(input.Duration));
                foreach (var c in cases)
                {
                    x.WriteStartElement("testcase");
                    x.WriteAttributeString("classname", $"{ToolName}.{result.GateId}");
                    x.WriteAttributeString("name", c.Name);
                    x.WriteAttributeString("time", "0");
                    if (c.File is not null)
                    {
                        x.WriteAttributeString("file", c.File);
                    }
                    if (c.Line is not null)
                    {
                        x.WriteAttributeString("line", c.Line.Value.ToString(CultureInfo.InvariantCulture));
                    }
                    if (c.Errors.Count > 0)
                    {
                        x.WriteStartElement("failure");
                        x.WriteAttributeString("type", c.Errors[0].RuleId);
                        x.WriteAttributeString("message", c.Errors[0].Message);
                        x.WriteString(string.Join("\n", c.Errors.Select(f => f.ToString())));
                        x.WriteEndElement();
                    }
                    if (c.Warnings.Count > 0)
                    {
                        x.WriteElementString("system-out", string.Join("\n", c.Warnings.Select(f => f.ToString())));
                    }
                    x.WriteEndElement();
                }
                x.WriteEndElement();
            }
            x.WriteEndElement();
        }
        return sb.ToString();
    }

    private sealed record Case(string Name, string? File, int? Line, List<RelocationFinding> Errors, List<RelocationFinding> Warnings);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);

    private static List<Case> Cases(GateResult result)
    {
        var cases = result.Findings
            .GroupBy(f => (f.RuleId, f.Subject))
            .Select(g => new Case(g.Key.Subject is null ? g.Key.RuleId : $"{g.Key.RuleId} {g.Key.Subject}", g.First().Location?.File, g.First().Location?.Line,
                g.Where(f => f.Severity == FindingSeverity.Error).ToList(), g.Where(f => f.Severity != FindingSeverity.Error).ToList()))
            .ToList();
        if (cases.TrueForAll(c => c.Errors.Count == 0))
        {
            cases.Insert(0, new Case($"{result.GateId} passes", null, null, [], []));
        }
        return cases;
    }

    private sealed class Utf8StringWriter(StringBuilder sb) : StringWriter(sb, CultureInfo.InvariantCulture)
    {
        public override Encoding Encoding => new UTF8Encoding(false);
    }

    public static string Markdown(ReportInput input)
    {
        var sb = new StringBuilder();
        sb.Append("# InfraRelocation report\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"- Estate: `{input.EstateRoot}`\n- Generated: {Iso(input.GeneratedUtc)}\n");
        if (input.ChangeId is not null) sb.Append(CultureInfo.InvariantCulture, $"- Change: `{input.ChangeId}`\n");
        if (input.Results.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"- Result: **{(input.Results.All(r => r.Passed) ? "PASS" : "FAIL")}**\n");
        }
        if (input.State is not null)
        {
            // GitHub renders Mermaid: the protocol's states, the current one highlighted.
            sb.Append("\n## State\n\n```mermaid\nstateDiagram-v2\n    direction LR\n    [*] --> planning\n");
            var states = Enum.GetNames<InfraRelocation.Model.RelocationState>().Select(n => n.ToLowerInvariant()).ToList();
            for (var i = 0; i + 1 < states.Count; i++) sb.Append(CultureInfo.InvariantCulture, $"    {states[i]} --> {states[i + 1]}\n");
            sb.Append(CultureInfo.InvariantCulture, $"    {states[^1]} --> [*]\n    classDef current fill:#0969da,color:#fff,stroke:#0550ae\n");
            if (states.Contains(input.State.ToLowerInvariant())) sb.Append(CultureInfo.InvariantCulture, $"    class {input.State.ToLowerInvariant()} current\n");
            sb.Append("```\n");
        }
        if (input.Results.Count > 0)
        {
            sb.Append("\n## Gates\n\n| Gate | Result | Errors | Warnings | Summary |\n|---|---|---|---|---|\n");
            foreach (var r in input.Results)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {r.GateId} | {(r.Passed ? "pass" : "FAIL")} | {r.ErrorCount} | {r.WarningCount} | {Cell(r.Summary)} |\n");
            }
        }
        foreach (var r in input.Results.Where(r => r.Findings.Count > 0))
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n### {r.GateId}\n\n| Severity | Rule | Location | Subject | Message |\n|---|---|---|---|---|\n");
            foreach (var f in r.Findings)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {f.Severity} | `{f.RuleId}` | {(f.Location is null ? "" : $"`{f.Location}`")} | {Cell(f.Subject)} | {Cell(f.Message)} |\n");
            }
        }
        if (input.Impact.Count > 0)
        {
            sb.Append("\n## Impact\n\n| Service | Surface | Ok | Current | Required | Location |\n|---|---|---|---|---|---|\n");
            foreach (var i in input.Impact)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {Cell(i.Service)} | {i.Surface} | {(i.Satisfied ? "ok" : "**change**")} | {Cell(i.CurrentValue ?? "(none)")} | {Cell(i.RequiredValue)} | `{i.Location?.ToString() ?? i.File}` |\n");
            }
        }
        if (input.Rollback.Count > 0)
        {
            sb.Append("\n## Rollback plan\n\n```mermaid\nflowchart TD\n");
            foreach (var step in input.Rollback)
            {
                sb.Append(CultureInfo.InvariantCulture, $"    s{step.Order}[\"{step.Order}. {step.Kind} {Mermaid(step.Service)}{(step.Host is null ? "" : " @ " + Mermaid(step.Host))}\"]\n");
            }
            for (var i = 0; i + 1 < input.Rollback.Count; i++) sb.Append(CultureInfo.InvariantCulture, $"    s{input.Rollback[i].Order} --> s{input.Rollback[i + 1].Order}\n");
            sb.Append("```\n\n| # | Service | Kind | Host | Action |\n|---|---|---|---|---|\n");
            foreach (var step in input.Rollback)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {step.Order} | {Cell(step.Service)} | {step.Kind} | {Cell(step.Host)} | {Cell(step.Action)} |\n");
            }
        }
        if (input.Checks.Count > 0)
        {
            sb.Append("\n## Preflight and readiness\n\n| Source | Subject | Check | Status | Evidence |\n|---|---|---|---|---|\n");
            foreach (var c in input.Checks)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {Cell(c.Source)} | {Cell(c.Subject)} | {Cell(c.Check)} | {c.Status} | {Cell(c.Evidence)} |\n");
            }
        }
        foreach (var phase in input.Checklist.GroupBy(i => i.Phase))
        {
            var list = phase.ToList();
            sb.Append(CultureInfo.InvariantCulture, $"\n## Checklist: {ChecklistTitle(phase.Key)} ({list.Count(i => i.IsDone)} of {list.Count} done)\n\n| # | State | Item | Evidence | Next |\n|---|---|---|---|---|\n");
            foreach (var i in list)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {i.Order} | {(i.IsDone ? i.State.ToString() : $"**{i.State}**")} | {Cell(i.Title)} | {Cell(i.Evidence)} | {(i.Command is null ? "" : $"`{Cell(i.Command)}`")} |\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>The protocol's name of a checklist (Pre-Cutover, Post-Cutover, Post-Cleanup).</summary>
    internal static string ChecklistTitle(ChecklistPhase phase) => Governance.ChecklistEvaluator.Title(phase);

    // Mermaid labels are quoted; a quote inside one would end it.
    private static string Mermaid(string text) => text.Replace("\"", "'", StringComparison.Ordinal);

    private static string Cell(string? text) => (text ?? "").Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
