using System.Diagnostics;
using System.Text.Json;
using InfraRelocation.Testing.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

/// <summary>
/// The emulator's own rule table (ApiRules) against the routes it serves and, when the official PVE schema is
/// beside the checkout (<c>shared/pve-api/pve-apidata.json</c> in a folder above the repository), against that schema.
/// </summary>
public sealed class ApiRulesConformanceTests
{
    [Fact]
    public void EveryServedRouteHasExactlyOneRuleAndEveryRuleIsServed()
    {
        var routes = new ApiHandlers(new EmulatorState(new EmulatorOptions())).RouteKeys.ToList();
        var rules = ApiRules.Endpoints.Select(e => e.Key).ToList();
        Assert.Equal(rules.Count, rules.Distinct().Count());
        Assert.Empty(routes.Except(rules));
        Assert.Empty(rules.Except(routes));
    }

    /// <summary>The schema beside the checkout: the nearest <c>shared/pve-api/pve-apidata.json</c> above the repository root.</summary>
    private static string? OfficialSchema()
    {
        for (var dir = new DirectoryInfo(TestEstate.RepoRoot).Parent; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "pve-api", "pve-apidata.json");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    [SkippableFact]
    public void RuleTableMatchesTheOfficialSchema()
    {
        var path = OfficialSchema();
        Skip.If(path is null, "The official PVE API schema (shared/pve-api/pve-apidata.json) is not beside this checkout; "
            + "the rule table is compared with it only where it is available.");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path!));
        var methods = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        void Walk(JsonElement node)
        {
            if (node.TryGetProperty("info", out var info))
                foreach (var m in info.EnumerateObject()) methods[m.Name + " " + node.GetProperty("path").GetString()] = m.Value;
            if (node.TryGetProperty("children", out var children) && children.ValueKind == JsonValueKind.Array)
                foreach (var c in children.EnumerateArray()) Walk(c);
        }
        foreach (var root in doc.RootElement.EnumerateArray()) Walk(root);

        var problems = new List<string>();
        foreach (var rule in ApiRules.Endpoints)
        {
            if (!methods.TryGetValue(rule.Key, out var official)) { problems.Add($"{rule.Key}: not in the schema"); continue; }
            var allowToken = !official.TryGetProperty("allowtoken", out var at) || at.GetInt32() != 0;
            if (allowToken != rule.AllowToken) problems.Add($"{rule.Key}: allowtoken {allowToken}, table {rule.AllowToken}");
            var check = official.TryGetProperty("permissions", out var perms) && perms.TryGetProperty("check", out var c) ? c.GetRawText() : "null";
            if (Compact(check) != Compact(Serialize(rule.Check))) problems.Add($"{rule.Key}: check {check}, table {Serialize(rule.Check)}");

            var props = official.TryGetProperty("parameters", out var p) && p.TryGetProperty("properties", out var pp)
                ? pp.EnumerateObject().ToDictionary(x => x.Name, x => x.Value) : [];
            foreach (var name in props.Keys.Except(rule.Parameters.Select(x => x.Name))) problems.Add($"{rule.Key}: parameter '{name}' missing from the table");
            foreach (var param in rule.Parameters)
            {
                if (!props.TryGetValue(param.Name, out var o)) { problems.Add($"{rule.Key}: table parameter '{param.Name}' not in the schema"); continue; }
                void Same(string what, object? schema, object? table)
                {
                    if (!Equals(schema, table)) problems.Add($"{rule.Key} {param.Name}: {what} schema '{schema}', table '{table}'");
                }
                Same("type", Str(o, "type") ?? "string", param.Type.ToString().ToLowerInvariant());
                Same("optional", o.TryGetProperty("optional", out var opt) && opt.ToString() == "1", param.Optional);
                Same("minimum", Long(o, "minimum"), param.Minimum);
                Same("maximum", Long(o, "maximum"), param.Maximum);
                Same("maxLength", Long(o, "maxLength"), param.MaxLength is { } ml ? (long)ml : null);
                // Perl writes a non-capturing group with default flags as (?^:...); .NET as (?:...).
                Same("pattern", Str(o, "pattern")?.Replace("(?^:", "(?:", StringComparison.Ordinal), param.Pattern);
                Same("format", o.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null, param.Format);
                Same("enum", o.TryGetProperty("enum", out var en) ? string.Join(",", en.EnumerateArray().Select(e => e.GetString())) : null,
                    param.Enum is null ? null : string.Join(",", param.Enum));
            }
        }
        Assert.Empty(problems);
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Limits appear as numbers or as numeric strings in the schema.</summary>
    private static long? Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Number ? v.GetInt64() : long.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static string Compact(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);

    /// <summary>The table's check in the schema's array notation: ["perm", path, [privs], "any", 1, "require_param", p], ["and", ...].</summary>
    private static string Serialize(PermissionCheck? check) => check switch
    {
        null => "null",
        PermissionCheck.Perm p => JsonSerializer.Serialize(new object[] { "perm", p.Path, p.Privileges }
            .Concat(p.Any ? new object[] { "any", 1 } : []).Concat(p.RequireParam is { } r ? new object[] { "require_param", r } : [])),
        PermissionCheck.And a => "[\"and\"," + string.Join(",", a.Checks.Select(Serialize)) + "]",
        PermissionCheck.Or o => "[\"or\"," + string.Join(",", o.Checks.Select(Serialize)) + "]",
        _ => throw new InvalidOperationException(),
    };

    [Fact]
    public void TheEmulatorProcessStopsOnSigtermWithoutStdin()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "InfraRelocation.ProxmoxEmulator.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "--port", "0", "--no-stdin"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        try
        {
            var line = process.StandardOutput.ReadLine();
            Assert.Contains("\"url\"", line);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            Assert.True(process.WaitForExit(30_000), "the emulator did not stop within 30 s of SIGTERM");
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
