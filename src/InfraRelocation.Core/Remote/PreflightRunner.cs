using System.Diagnostics;
using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Health;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Gates;
using InfraRelocation.Model;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>A host the relocation involves and why (see <see cref="PreflightRunner.InvolvedHosts"/>).</summary>
public sealed record HostRequirement(string HostId, bool Required, IReadOnlyList<string> Reasons, SourceLocation? Location);

public sealed record PreflightOptions
{
    public int ThrottleLimit { get; init; } = BoundedParallel.DefaultParallelism;
    /// <summary>Per probe: SSH connect + command, and each HTTP health request.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(6);
    /// <summary>Backups must hold a file newer than this unless the backup inventory says otherwise.</summary>
    public double DefaultBackupMaxAgeHours { get; init; } = 26;
    public SshResolveOptions Ssh { get; init; } = new();
    /// <summary>Skip the HTTP health baseline.</summary>
    public bool SkipHealth { get; init; }
    /// <summary>Skip backup verification.</summary>
    public bool SkipBackups { get; init; }
}

/// <summary>Progress of a fan-out, reported from worker threads (the cmdlet shows it on the pipeline thread).</summary>
public sealed record FanOutProgress(string Activity, string Item, int Completed, int Total);

public sealed record PreflightResult
{
    public IReadOnlyList<HostReachability> Hosts { get; init; } = [];
    public IReadOnlyList<RequiredFileCheck> RequiredFiles { get; init; } = [];
    public IReadOnlyList<HealthBaselineEntry> HealthBaseline { get; init; } = [];
    public IReadOnlyList<BackupVerificationEntry> BackupVerification { get; init; } = [];
    public IReadOnlyList<GateResult> Gates { get; init; } = [];
    public IReadOnlyList<RelocationFinding> Findings { get; init; } = [];
    public TimeSpan Duration { get; init; }
    public bool Passed => Findings.All(f => f.Severity != FindingSeverity.Error);
}

/// <summary>
/// infra.relocation.preflight: every host the relocation involves is reachable over SSH (required ones by the
/// service/VM status rule), the manifest's required files exist, each service's health_url answers (the health
/// baseline), each backup_target holds a fresh file, and placement plus hypervisor identity (live, for the
/// hypervisors the relocation uses) pass. All probes run in one bounded-parallel fan-out.
/// </summary>
public sealed class PreflightRunner(SshSessionPool pool, HttpHealthProbe http)
{
    private static readonly HashSet<ServiceStatus> HealthCritical = [ServiceStatus.Shadow, ServiceStatus.Cutover, ServiceStatus.Applied, ServiceStatus.Migrated, ServiceStatus.Complete];
    private static readonly HashSet<ServiceStatus> BackupCritical = [ServiceStatus.Shadow, ServiceStatus.Cutover, ServiceStatus.Applied, ServiceStatus.Migrated];

    /// <summary>
    /// The hosts a relocation involves, sorted by id: VM targets (required unless planned) and their hypervisors,
    /// and per service by status — shadow/cutover need from_host and to_host; applied/migrated/complete need
    /// to_host; rolled-back needs rollback_to; everything else (planned) is optional. Empty, <c>null</c>,
    /// <c>new</c> and <c>none</c> values are ignored. A host required for any reason is required.
    /// </summary>
    public static IReadOnlyList<HostRequirement> InvolvedHosts(RelocationManifest? manifest)
    {
        var hosts = new SortedDictionary<string, (bool Required, List<string> Reasons, SourceLocation? At)>(StringComparer.Ordinal);
        void Add(string? id, bool required, string reason, SourceLocation? at)
        {
            id = id?.Trim();
            if (string.IsNullOrEmpty(id) || id is "null" or "new" or "none") return;
            if (!hosts.TryGetValue(id, out var h)) h = (false, [], at);
            h.Reasons.Add(reason);
            hosts[id] = (h.Required || required, h.Reasons, h.At ?? at);
        }
        foreach (var vm in manifest?.VmTargets ?? [])
        {
            var required = vm.Status is not null and not VmTargetStatus.Planned;
            var status = vm.StatusText ?? "no status";
            Add(vm.Hostname, required, $"vm_target ({status})", vm.LocationOf("hostname"));
            Add(vm.ProxmoxHost, required, $"hypervisor of {vm.Hostname} ({status})", vm.LocationOf("proxmox_host"));
        }
        foreach (var s in manifest?.Services ?? [])
        {
            var status = s.StatusText ?? "no status";
            var (from, to, rollback) = s.Status switch
            {
                ServiceStatus.Shadow or ServiceStatus.Cutover => (true, true, false),
                ServiceStatus.Applied or ServiceStatus.Migrated or ServiceStatus.Complete => (false, true, false),
                ServiceStatus.RolledBack => (false, false, true),
                _ => (false, false, false),
            };
            Add(s.FromHost, from, $"from_host of {s.Service} ({status})", s.LocationOf("from_host"));
            Add(s.ToHost, to, $"to_host of {s.Service} ({status})", s.LocationOf("to_host"));
            Add(s.RollbackTo, rollback, $"rollback_to of {s.Service} ({status})", s.LocationOf("rollback_to"));
        }
        return hosts.Select(h => new HostRequirement(h.Key, h.Value.Required, h.Value.Reasons, h.Value.At)).ToList();
    }

    /// <summary>Splits <c>host:/path</c>; null when it is not of that form.</summary>
    public static (string Host, string Path)? ParseBackupTarget(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1) return null;
        var path = value[(colon + 1)..].Trim();
        return path.StartsWith('/') ? (value[..colon].Trim(), path) : null;
    }

    /// <summary>The remote command that decides whether a backup folder holds a file newer than <paramref name="maxAgeHours"/>.</summary>
    public static string BackupCheckCommand(string path, double maxAgeHours)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling(maxAgeHours * 60));
        var p = ShellQuote.Single(path);
        return $"p={p}; if [ ! -e \"$p\" ]; then echo 'IR_BACKUP=missing'; exit 0; fi; " +
               $"f=$(find \"$p\" -type f -mmin -{minutes} 2>/dev/null | head -n 1); " +
               "if [ -n \"$f\" ]; then printf 'IR_BACKUP=fresh %s\\n' \"$f\"; " +
               "else n=$(find \"$p\" -type f 2>/dev/null | wc -l | tr -d ' '); printf 'IR_BACKUP=stale %s\\n' \"$n\"; fi";
    }

    public async Task<PreflightResult> RunAsync(EstateSnapshot estate, PreflightOptions options, Action<FanOutProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(options);
        var sw = Stopwatch.StartNew();
        var manifest = estate.Manifest;
        var resolver = new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, options.Ssh with
        {
            ConnectTimeout = options.Timeout,
            CommandTimeout = options.Timeout,
        });
        var policyHosts = estate.Policy?.Hosts ?? new Dictionary<string, PlacementHost>();
        var findings = new List<RelocationFinding>();
        var manifestFile = manifest?.File ?? estate.Layout.RelativePath(Core.Estate.EstateFile.Manifest);

        // 1. Work items: one SSH probe per host, one GET per health URL, one SSH check per backup target.
        var work = new List<(string Label, Func<CancellationToken, Task<object>> Body)>();
        var involved = InvolvedHosts(manifest);
        var hostRows = new HostReachability[involved.Count];
        var observations = new Dictionary<string, HypervisorObservation>(StringComparer.Ordinal);
        var probe = new HypervisorProbe(pool);
        for (var i = 0; i < involved.Count; i++)
        {
            var index = i;
            var req = involved[i];
            var endpoint = resolver.TryResolve(req.HostId, out var why);
            var isHypervisor = policyHosts.TryGetValue(req.HostId, out var ph) && ph.IsProxmox;
            if (endpoint is null)
            {
                hostRows[index] = new HostReachability
                {
                    HostId = req.HostId, Required = req.Required, Reasons = req.Reasons,
                    Status = req.Required ? RemoteCheckStatus.Fail : RemoteCheckStatus.Warn, Evidence = why ?? "",
                };
                if (isHypervisor) observations[req.HostId] = new HypervisorObservation { HostId = req.HostId, Error = why };
                continue;
            }
            work.Add(($"ssh {req.HostId}", async ct =>
            {
                var t = Stopwatch.StartNew();
                try
                {
                    string evidence;
                    if (isHypervisor)
                    {
                        var id = await probe.ReadIdentityAsync(endpoint, ct).ConfigureAwait(false);
                        lock (observations) observations[req.HostId] = new HypervisorObservation { HostId = req.HostId, Hostname = id.Hostname, Fqdn = id.Fqdn, MachineId = id.MachineId };
                        evidence = $"hostname {id.Hostname}, machine-id {id.MachineId ?? "unknown"}";
                    }
                    else
                    {
                        (await pool.RunAsync(endpoint, "echo ok", cancellationToken: ct).ConfigureAwait(false)).EnsureSuccess();
                        evidence = "ssh echo ok";
                    }
                    hostRows[index] = new HostReachability
                    {
                        HostId = req.HostId, Address = Address(endpoint), Required = req.Required, Reasons = req.Reasons,
                        Status = RemoteCheckStatus.Ok, LatencyMs = Math.Round(t.Elapsed.TotalMilliseconds, 1), Evidence = evidence,
                    };
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    if (isHypervisor) lock (observations) observations[req.HostId] = new HypervisorObservation { HostId = req.HostId, Error = ex.Message };
                    hostRows[index] = new HostReachability
                    {
                        HostId = req.HostId, Address = Address(endpoint), Required = req.Required, Reasons = req.Reasons,
                        Status = req.Required ? RemoteCheckStatus.Fail : RemoteCheckStatus.Warn,
                        LatencyMs = Math.Round(t.Elapsed.TotalMilliseconds, 1), Evidence = Describe(ex),
                    };
                }
                return hostRows[index];
            }));
        }

        var services = manifest?.Services ?? [];
        var healthRows = new List<(ServiceMove Service, HealthBaselineEntry? Entry)>();
        if (!options.SkipHealth)
        {
            var bindings = estate.HealthBindings?.Endpoints.Where(e => e.Enabled).GroupBy(e => e.Id, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal) ?? [];
            // The gates' one rule for "no value" (blank, null, none): a planned health_url of none is not an invalid URL.
            foreach (var s in services.Where(s => ServiceRules.Blank(s.HealthUrl) is not null))
            {
                var slot = healthRows.Count;
                healthRows.Add((s, null));
                var expected = bindings.TryGetValue(s.Service, out var b) && b.Expect.Count > 0 ? b.Expect : [200];
                if (!Uri.TryCreate(s.HealthUrl!.Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                {
                    healthRows[slot] = (s, new HealthBaselineEntry { Service = s.Service, Url = s.HealthUrl!, Expected = expected, Error = "not an absolute http(s) URL" });
                    continue;
                }
                work.Add(($"health {s.Service}", async ct =>
                {
                    var r = await http.ProbeAsync(url, expected, options.Timeout, ct).ConfigureAwait(false);
                    var entry = new HealthBaselineEntry
                    {
                        Service = s.Service, Url = url.ToString(), StatusCode = r.StatusCode, LatencyMs = Math.Round(r.Latency.TotalMilliseconds, 3),
                        Healthy = r.Healthy, Expected = expected, Error = r.Error,
                    };
                    lock (healthRows) healthRows[slot] = (s, entry);
                    return entry;
                }));
            }
        }

        var backupRows = new List<(ServiceMove Service, BackupVerificationEntry? Entry)>();
        if (!options.SkipBackups)
        {
            foreach (var s in services.Where(s => !string.IsNullOrWhiteSpace(s.BackupTarget)))
            {
                var slot = backupRows.Count;
                backupRows.Add((s, null));
                var parsed = ParseBackupTarget(s.BackupTarget);
                if (parsed is not { } bt)
                {
                    backupRows[slot] = (s, new BackupVerificationEntry { Service = s.Service, BackupTarget = s.BackupTarget!, Evidence = "not of the form host:/absolute/path" });
                    continue;
                }
                var maxAge = MaxAgeHours(estate.BackupInventory, bt.Host, bt.Path) ?? options.DefaultBackupMaxAgeHours;
                var endpoint = resolver.TryResolve(bt.Host, out var why);
                if (endpoint is null)
                {
                    backupRows[slot] = (s, new BackupVerificationEntry { Service = s.Service, BackupTarget = s.BackupTarget!, MaxAgeHours = maxAge, Evidence = why ?? "" });
                    continue;
                }
                work.Add(($"backup {s.Service}", async ct =>
                {
                    BackupVerificationEntry entry;
                    try
                    {
                        var r = (await pool.RunAsync(endpoint, BackupCheckCommand(bt.Path, maxAge), cancellationToken: ct).ConfigureAwait(false)).EnsureSuccess();
                        var line = r.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("IR_BACKUP=", StringComparison.Ordinal))?[10..].Trim() ?? "";
                        entry = line switch
                        {
                            _ when line.StartsWith("fresh ", StringComparison.Ordinal) => new BackupVerificationEntry
                                { Verified = true, Evidence = $"{line[6..]} is newer than {maxAge:0.#} h" },
                            "missing" => new BackupVerificationEntry { Evidence = $"{bt.Path} does not exist on {bt.Host}" },
                            _ when line.StartsWith("stale ", StringComparison.Ordinal) => new BackupVerificationEntry
                                { Evidence = $"no file newer than {maxAge:0.#} h in {bt.Path} on {bt.Host} ({line[6..]} older file(s))" },
                            _ => new BackupVerificationEntry { Evidence = $"unexpected answer from {bt.Host}: {r.Stdout.Trim()}" },
                        };
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        entry = new BackupVerificationEntry { Evidence = Describe(ex) };
                    }
                    entry = entry with { Service = s.Service, BackupTarget = s.BackupTarget!, MaxAgeHours = maxAge };
                    lock (backupRows) backupRows[slot] = (s, entry);
                    return entry;
                }));
            }
        }

        var done = 0;
        progress?.Invoke(new FanOutProgress("Preflight", "starting", 0, work.Count));
        await BoundedParallel.ForEachAsync(work, async (item, ct) =>
        {
            var r = await item.Body(ct).ConfigureAwait(false);
            progress?.Invoke(new FanOutProgress("Preflight", item.Label, Interlocked.Increment(ref done), work.Count));
            return r;
        }, options.ThrottleLimit, cancellationToken).ConfigureAwait(false);

        // 2. Findings.
        for (var i = 0; i < involved.Count; i++)
        {
            var row = hostRows[i];
            if (row.Status is RemoteCheckStatus.Fail or RemoteCheckStatus.Warn)
            {
                var rule = row.Address is null ? "PREFLIGHT.SshTargetMissing" : "PREFLIGHT.HostUnreachable";
                findings.Add(RelocationFinding.Of(row.Required ? FindingSeverity.Error : FindingSeverity.Warning, rule, $"{(row.Required ? "Required" : "Optional")} host {row.HostId} ({string.Join("; ", row.Reasons)}): {row.Evidence}",
                    involved[i].Location, manifestFile, row.HostId));
            }
        }
        var files = new List<RequiredFileCheck>();
        foreach (var u in manifest?.RequiredUpdates ?? [])
        {
            var full = Path.IsPathRooted(u.Path) ? u.Path : Path.Combine(estate.Layout.Root, u.Path);
            var exists = File.Exists(full) || Directory.Exists(full);
            files.Add(new RequiredFileCheck { Path = u.Path, Exists = exists });
            if (!exists)
                findings.Add(RelocationFinding.Error("PREFLIGHT.RequiredFileMissing", $"required_updates path {u.Path} does not exist under the estate root.", u.Location, manifestFile, u.Path));
        }
        var health = healthRows.Select(h => h.Entry!).ToList();
        foreach (var (s, e) in healthRows)
        {
            if (e is { Healthy: false })
                findings.Add(RelocationFinding.Of(s.Status is { } st && HealthCritical.Contains(st) ? FindingSeverity.Error : FindingSeverity.Warning, "PREFLIGHT.Unhealthy",
                    $"Service {s.Service} ({s.StatusText}): {e.Url} is not healthy: {e.Error}", s.LocationOf("health_url"), manifestFile, s.Service));
        }
        var backups = backupRows.Select(b => b.Entry!).ToList();
        foreach (var (s, e) in backupRows)
        {
            if (e is { Verified: false })
                findings.Add(RelocationFinding.Of(s.Status is { } st && BackupCritical.Contains(st) ? FindingSeverity.Error : FindingSeverity.Warning, "PREFLIGHT.BackupUnverified",
                    $"Service {s.Service} ({s.StatusText}): backup {e.BackupTarget} not verified: {e.Evidence}", s.LocationOf("backup_target"), manifestFile, s.Service));
        }

        // 3. Placement and live identity of the hypervisors the relocation needs.
        var gates = new List<GateResult>();
        if (estate.Policy is not null)
        {
            gates.Add(PlacementGate.Evaluate(estate));
            var requiredHypervisors = involved.Where(h => h.Required && policyHosts.TryGetValue(h.HostId, out var p) && p.IsProxmox).Select(h => h.HostId).ToList();
            if (requiredHypervisors.Count > 0)
            {
                gates.Add(HypervisorIdentityGate.Evaluate(estate, new GateOptions
                {
                    HypervisorIds = requiredHypervisors,
                    Observations = observations,
                }));
            }
        }
        else
        {
            findings.Add(RelocationFinding.Error("PREFLIGHT.PolicyMissing", $"The placement policy {estate.Layout.RelativePath(Core.Estate.EstateFile.PlacementPolicy)} does not exist.", null, null, null));
        }
        if (manifest is null)
            findings.Add(RelocationFinding.Error("PREFLIGHT.ManifestMissing", $"The manifest {manifestFile} does not exist.", null, null, null));
        else if (involved.Count == 0)
            findings.Add(RelocationFinding.Warning("PREFLIGHT.NoHosts", "The manifest names no hosts to check.", manifest.Location, manifestFile, null));
        findings.AddRange(gates.SelectMany(g => g.Findings));

        return new PreflightResult
        {
            Hosts = hostRows, RequiredFiles = files, HealthBaseline = health, BackupVerification = backups,
            Gates = gates, Findings = findings, Duration = sw.Elapsed,
        };
    }

    private static double? MaxAgeHours(BackupInventory? inventory, string host, string path) =>
        inventory?.Targets.Where(t => t.Enabled && string.Equals(t.Host, host, StringComparison.Ordinal) && t.StaleAfterHours is > 0
                && !string.IsNullOrEmpty(t.BasePath) && (path == t.BasePath.TrimEnd('/') || path.StartsWith(t.BasePath.TrimEnd('/') + "/", StringComparison.Ordinal)))
            .OrderByDescending(t => t.BasePath!.Length).FirstOrDefault()?.StaleAfterHours;

    private static string Describe(Exception ex) => ex is RelocationException rex ? $"{rex.ErrorId}: {rex.Message}" : $"{ex.GetType().Name}: {ex.Message}";

    public static string Address(SshEndpoint e) => $"{e.User}@{e.Host}:{e.Port}";
}

/// <summary>POSIX shell quoting.</summary>
public static class ShellQuote
{
    /// <summary>Wraps in single quotes, escaping embedded ones: <c>it's</c> → <c>'it'\''s'</c>.</summary>
    public static string Single(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
