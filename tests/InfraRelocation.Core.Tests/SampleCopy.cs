using System.Text.Json;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Core.Tests;

/// <summary>A throw-away copy of the repository's sample estate (ops/), with helpers to edit and reload it.</summary>
public sealed class SampleCopy : IDisposable
{
    public const string Manifest = "ops/bindings/infra.relocation.plan.yaml";
    public const string Registry = "ops/governance/SERVICE_REGISTRY.yaml";

    public SampleCopy()
    {
        Root = TestEstate.CopySample();
    }

    public string Root { get; }

    public EstateLayout Layout => EstateLayoutLoader.Load(Root);

    public EstateSnapshot Load() => EstateLoader.Load(Layout);

    public string Full(string relative) => Path.Combine(Root, relative);

    public byte[] Bytes(string relative) => File.ReadAllBytes(Full(relative));

    public string Text(string relative) => File.ReadAllText(Full(relative));

    /// <summary>Replaces exactly one occurrence of <paramref name="old"/>.</summary>
    public void Replace(string relative, string old, string replacement)
    {
        var text = Text(relative);
        var at = text.IndexOf(old, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{old}' not in {relative}");
        Assert.True(text.IndexOf(old, at + 1, StringComparison.Ordinal) < 0, $"'{old}' occurs twice in {relative}");
        File.WriteAllText(Full(relative), text[..at] + replacement + text[(at + old.Length)..]);
    }

    /// <summary>Sets a service's status line (the line after its backup_target).</summary>
    public void SetServiceStatus(string service, string status)
    {
        var lines = File.ReadAllLines(Full(Manifest)).ToList();
        var start = lines.FindIndex(l => l.Trim() == $"- service: \"{service}\"");
        Assert.True(start >= 0, service);
        var statusLine = lines.FindIndex(start, l => l.TrimStart().StartsWith("status:", StringComparison.Ordinal));
        lines[statusLine] = $"    status: \"{status}\"";
        File.WriteAllText(Full(Manifest), string.Join("\n", lines) + "\n");
    }

    /// <summary>
    /// The operator's SSOT updates before moving a planned service (the stack registry's deploy target and the health
    /// binding name <paramref name="host"/>), so that D35 passes once the service moves and the registry follows.
    /// </summary>
    public void PrepareSsot(string service, string host = "app-core")
    {
        Rewrite("ops/governance/STACK_REGISTRY.yaml", $@"(stack_id: {service}\n(?:    .*\n)*?    deploy_target: host:)legacy-docker", "${1}" + host);
        Rewrite("ops/bindings/services.health.yaml", $@"(- id: {service}\n    host: )legacy-docker", "${1}" + host);
    }

    private void Rewrite(string relative, string pattern, string replacement)
    {
        var text = Text(relative);
        var edited = System.Text.RegularExpressions.Regex.Replace(text, pattern, replacement);
        Assert.NotEqual(text, edited);
        File.WriteAllText(Full(relative), edited);
    }

    public void SetState(string state) => Replace(Manifest, "state: \"preflight\"", $"state: \"{state}\"");

    public void Approve(string who = "cab-chair") => Replace(Manifest, "approved_by: null ", $"approved_by: \"{who}\"");

    public static LedgerView Ledger(params string[] receipts) =>
        new(receipts.Select((json, i) =>
        {
            using var doc = JsonDocument.Parse(json);
            var capability = doc.RootElement.GetProperty("Capability").GetString() ?? "";
            return new LedgerEntry(i + 1, capability, null, doc.RootElement.Clone());
        }).ToList());

    public static string Preflight(string changeId, DateTimeOffset ended, bool healthy = true, string[]? unverified = null, string outcome = "Passed")
    {
        var estate = EstateLoader.Load(EstateLayoutLoader.Load(TestEstate.RepoRoot));
        var services = estate.Manifest!.Services;
        var health = services.Where(s => s.HealthUrl is not null).Select(s => new { Service = s.Service, Url = s.HealthUrl, StatusCode = 200, LatencyMs = 3.0, Healthy = healthy });
        var backups = services.Where(s => s.BackupTarget is not null)
            .Select(s => new { Service = s.Service, BackupTarget = s.BackupTarget, Verified = unverified is null || !unverified.Contains(s.Service), Evidence = "x" });
        return JsonSerializer.Serialize(new
        {
            Capability = "infra.relocation.preflight", Mode = "Read", Outcome = outcome, RunId = "pf-1", EndedUtc = ended, ChangeId = changeId,
            HealthBaseline = health, BackupVerification = backups,
        });
    }

    public const string ChangeId = "CHG-2026-1118-SPLIT-LEGACY";

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
