using static InfraRelocation.Core.Gates.GateHelpers;
using static InfraRelocation.RelocationFinding;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// D35, relocation parity. Active in the states preflight, cutover and cleanup (the protocol's strict
/// contract). For every service past planned: the service registry names the expected host (to_host, or
/// rollback_to when rolled back), an SSH target exists for it, and the other parity surfaces agree (stack
/// registry, device identity, health binding, backup inventory). Every required_updates file exists.
/// Placement (the seventh surface) is D37's job; Invoke-RelocationParity runs both.
/// </summary>
public static class ParityGate
{
    public static readonly IReadOnlySet<RelocationState> ActiveStates =
        new HashSet<RelocationState> { RelocationState.Preflight, RelocationState.Cutover, RelocationState.Cleanup };

    public static GateResult Evaluate(EstateSnapshot estate, GateOptions? options = null)
    {
        var findings = new List<RelocationFinding>();
        var manifestPath = estate.Layout.RelativePath(EstateFile.Manifest);
        if (estate.Manifest is not { } manifest)
        {
            findings.Add(Error("D35.ManifestMissing", $"The relocation manifest {manifestPath} does not exist; nothing can be checked.", null, subject: manifestPath));
            return Result(GateIds.Parity, findings, "no manifest", 0);
        }
        var active = manifest.ActiveRelocation;
        if (options?.AssumedState is { } assumed)
        {
            active = (active ?? new ActiveRelocation()) with { State = assumed, StateText = assumed.ToString().ToLowerInvariant() };
        }
        if (active is null || (active.State is null && ServiceRules.Blank(active.StateText) is null))
        {
            return Result(GateIds.Parity, findings, "no active relocation: D35 not active", 0);
        }
        if (active.State is not { } state)
        {
            findings.Add(Error("D35.StateUnknown",
                $"active_relocation.state '{active.StateText}' is not one of planning, preflight, cutover, cleanup, complete.",
                active.LocationOf("state"), "active_relocation.state", actual: active.StateText));
            return Result(GateIds.Parity, findings, "unknown state", 0);
        }
        if (!ActiveStates.Contains(state))
        {
            return Result(GateIds.Parity, findings, $"state {active.StateText}: D35 not active", 0);
        }

        foreach (var update in manifest.RequiredUpdates)
        {
            var full = Path.IsPathRooted(update.Path) ? update.Path : Path.Combine(estate.Layout.Root, update.Path);
            if (!File.Exists(full))
            {
                findings.Add(Error("D35.RequiredUpdateMissing", $"required_updates names {update.Path}, which does not exist.",
                    update.Location, "required_updates", update.Path));
            }
        }
        if (estate.ServiceRegistry is null)
        {
            findings.Add(Error("D35.ServiceRegistryMissing", $"The service registry {estate.Layout.RelativePath(EstateFile.ServiceRegistry)} does not exist.", null,
                subject: estate.Layout.RelativePath(EstateFile.ServiceRegistry)));
        }
        if (estate.SshTargets is null)
        {
            findings.Add(Error("D35.SshTargetsMissing", $"The SSH target file {estate.Layout.RelativePath(EstateFile.SshTargets)} does not exist.", null,
                subject: estate.Layout.RelativePath(EstateFile.SshTargets)));
        }

        var index = EstateIndex.For(estate);
        var missingFiles = new HashSet<string>(StringComparer.Ordinal);
        var checkedCount = 0;
        foreach (var move in manifest.Services)
        {
            if (move.Status is null)
            {
                findings.Add(Error("D35.StatusInvalid",
                    move.StatusText is null
                        ? $"{move.Service}: services[{move.Index}] has no status; a missing status is never read as planned."
                        : $"{move.Service}: status '{move.StatusText}' is not one of planned, shadow, cutover, applied, migrated, complete, rolled-back.",
                    move.LocationOf("status") ?? move.Location, $"services[{move.Index}].status", move.Service, actual: move.StatusText));
                continue;
            }
            if (!ServiceRules.IsPastPlanned(move))
            {
                continue;
            }
            checkedCount++;
            var path = $"services[{move.Index}].{ServiceRules.ExpectedHostField(move)}";
            if (ServiceRules.ExpectedHost(move) is null)
            {
                findings.Add(move.Status == ServiceStatus.RolledBack
                    ? Error("D35.RollbackTargetMissing", $"{move.Service}: status rolled-back but no rollback_to says where it went back to.",
                        move.LocationOf("status"), path, move.Service)
                    : Error("D35.ToHostMissing", $"{move.Service}: status {move.StatusText} but no to_host.",
                        move.LocationOf("to_host") ?? move.Location, path, move.Service));
                continue;
            }
            foreach (var check in ImpactAnalyzer.Check(index, move, includePlacement: false, includeSatisfied: false))
            {
                if (check.Item.Satisfied)
                {
                    continue;
                }
                if (check.RuleId is null)
                {
                    missingFiles.Add(check.Item.File);
                    continue;
                }
                findings.Add(Of(check.Severity, check.RuleId, check.Message!, check.Item.ManifestLocation ?? move.Location, path, move.Service,
                    check.Related, check.Item.RequiredValue, check.Item.CurrentValue));
            }
        }
        foreach (var file in missingFiles.Order(StringComparer.Ordinal))
        {
            if (file == estate.Layout.RelativePath(EstateFile.ServiceRegistry) || file == estate.Layout.RelativePath(EstateFile.SshTargets))
            {
                continue; // already an error above
            }
            findings.Add(Warning("D35.SurfaceFileMissing", $"{file} does not exist, so its parity with the manifest is not checked.", null, subject: file));
        }
        return Result(GateIds.Parity, findings, $"state {active.StateText}: {checkedCount} service(s) past planned", checkedCount);
    }
}
