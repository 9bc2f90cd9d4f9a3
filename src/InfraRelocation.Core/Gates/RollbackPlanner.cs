using static InfraRelocation.RelocationFinding;

namespace InfraRelocation.Core.Gates;

/// <summary>A rollback checklist and the errors that prevent planning some services.</summary>
public sealed record RollbackPlan
{
    public IReadOnlyList<RollbackStep> Steps { get; init; } = [];
    /// <summary>RollbackTargetMissing / RollbackTargetViolatesDrPolicy / ServiceNotFound errors.</summary>
    public IReadOnlyList<RelocationFinding> Errors { get; init; } = [];
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    public double? MaxRollbackWindowHours { get; init; }
    public bool? RequiresBackupVerification { get; init; }
}

/// <summary>
/// The rollback checklist (capability <c>infra.relocation.rollback.plan</c>). For each service that has moved
/// (past planned and not already rolled back), latest phase first, then manifest order: stop on to_host,
/// restore from backup_target, start on rollback_to, switch DNS/routing, revert each file value that names
/// to_host (with its location and the value to write), run the gates, document the incident. Deterministic:
/// the same estate always gives the same steps in the same order.
/// </summary>
public static class RollbackPlanner
{
    public static RollbackPlan Plan(EstateSnapshot estate, string? service = null)
    {
        var steps = new List<RollbackStep>();
        var errors = new List<RelocationFinding>();
        var manifest = estate.Manifest;
        if (manifest is null)
        {
            throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
                $"The relocation manifest {estate.Layout.RelativePath(EstateFile.Manifest)} does not exist.", target: estate.Layout.RelativePath(EstateFile.Manifest));
        }
        if (service is not null && !manifest.Services.Any(s => s.Service == service))
        {
            errors.Add(Error("ServiceNotFound", $"The manifest has no service {service}.", manifest.Location, subject: service));
        }
        var index = EstateIndex.For(estate);
        var candidates = manifest.Services
            .Where(s => (service is null || s.Service == service) && ServiceRules.IsPastPlanned(s) && s.Status != ServiceStatus.RolledBack)
            .OrderByDescending(s => s.Phase ?? int.MinValue)
            .ThenBy(s => s.Index);
        foreach (var move in candidates)
        {
            var name = move.Service;
            var path = $"services[{move.Index}]";
            var rollback = ServiceRules.Blank(move.RollbackTo);
            var toHost = ServiceRules.Blank(move.ToHost) ?? "(no to_host)";
            if (rollback is null)
            {
                errors.Add(Error("RollbackTargetMissing",
                    $"{name} ({move.StatusText}) has no rollback_to at {move.LocationOf("rollback_to") ?? move.Location}: there is no host to roll back to.",
                    move.LocationOf("rollback_to") ?? move.Location, path + ".rollback_to", name));
                continue;
            }
            if (DrViolation(estate, move, rollback) is { } violation)
            {
                errors.Add(violation);
                continue;
            }
            var compose = ComposeFile(estate, index, name);
            void Add(RollbackStepKind kind, string action, string? host = null, string? command = null) =>
                steps.Add(new RollbackStep { Order = steps.Count + 1, Service = name, Phase = move.Phase, Kind = kind, Host = host, Action = action, Command = command });

            Add(RollbackStepKind.Stop, $"Stop {name} on {toHost}.", toHost,
                compose is null ? null : $"docker compose -f {compose} down");
            if (ServiceRules.Blank(move.BackupTarget) is { } backup)
            {
                Add(RollbackStepKind.Restore, $"Restore the data of {name} from {backup} onto {rollback}.", rollback);
            }
            Add(RollbackStepKind.Start, $"Start {name} on {rollback}.", rollback,
                compose is null ? null : $"docker compose -f {compose} up -d");
            Add(RollbackStepKind.Route, $"Point DNS and routing for {name} at {rollback}" +
                (ServiceRules.Blank(move.HealthUrl) is { } url ? $" (health URL now {url})." : "."), rollback);

            var rolledBack = move with { Status = ServiceStatus.RolledBack };
            foreach (var check in ImpactAnalyzer.Check(index, rolledBack, includePlacement: false))
            {
                var item = check.Item;
                if (item.Satisfied || item.Note == "file missing")
                {
                    continue;
                }
                steps.Add(new RollbackStep
                {
                    Order = steps.Count + 1, Service = name, Phase = move.Phase, Kind = RollbackStepKind.Revert,
                    Host = rollback,
                    Action = item.CurrentValue is null
                        ? $"Add {item.DocumentPath} = {item.RequiredValue} to {item.File}."
                        : $"At {item.Location}, change {item.DocumentPath} from {item.CurrentValue} to {item.RequiredValue}.",
                    File = item.File, Location = item.Location, DocumentPath = item.DocumentPath,
                    CurrentValue = item.CurrentValue, RevertTo = item.RequiredValue,
                });
            }
            steps.Add(new RollbackStep
            {
                Order = steps.Count + 1, Service = name, Phase = move.Phase, Kind = RollbackStepKind.Revert, Host = rollback,
                Action = $"Set {name}'s status in {manifest.File} from {move.StatusText} to rolled-back.",
                File = manifest.File, Location = move.LocationOf("status"), DocumentPath = path + ".status",
                CurrentValue = move.StatusText, RevertTo = "rolled-back",
            });
            Add(RollbackStepKind.Verify, $"Run the gates: D35 and D37 must pass with {name} on {rollback}.", rollback, "Invoke-RelocationParity");
            Add(RollbackStepKind.Verify, "Run every gate (final verification).", null, "Invoke-RelocationGate");
            if (ServiceRules.Blank(move.HealthUrl) is not null)
            {
                Add(RollbackStepKind.Verify, $"Check {name}'s health on {rollback}.", rollback);
            }
            Add(RollbackStepKind.Document, $"Document the incident for {name} under change {manifest.ActiveRelocation?.ChangeId ?? "(none)"}.");
        }
        return new RollbackPlan
        {
            Steps = steps,
            Errors = errors,
            ChangeId = manifest.ActiveRelocation?.ChangeId,
            State = manifest.ActiveRelocation?.StateText,
            MaxRollbackWindowHours = manifest.Rollback?.MaxRollbackWindowHours,
            RequiresBackupVerification = manifest.Rollback?.RequiresBackupVerification,
        };
    }

    private static RelocationFinding? DrViolation(EstateSnapshot estate, ServiceMove move, string rollback)
    {
        var at = move.LocationOf("rollback_to");
        var path = $"services[{move.Index}].rollback_to";
        if (estate.Policy is not { } policy)
        {
            return null; // D37 reports the missing policy
        }
        if (!policy.Hosts.TryGetValue(rollback, out var host) || host.Site is null)
        {
            return Error("RollbackTargetViolatesDrPolicy",
                $"{move.Service}: rollback_to: {rollback} at {at} is not a host with a site in {policy.File}.", at, path, move.Service, policy.Location);
        }
        policy.ServicePlacement.TryGetValue(move.Service, out var rule);
        if (rule is not null && (rule.DrSites is null || !rule.DrSites.Contains(host.Site, StringComparer.Ordinal)))
        {
            return Error("RollbackTargetViolatesDrPolicy",
                $"{move.Service}: rollback_to: {rollback} at {at} is in site {host.Site} while the placement policy allows DR sites [{string.Join(", ", rule.DrSites ?? [])}] at {rule.LocationOf("dr_sites") ?? rule.Location}.",
                at, path, move.Service, rule.LocationOf("dr_sites") ?? rule.Location, string.Join(", ", rule.DrSites ?? []), host.Site);
        }
        return null;
    }

    private static string? ComposeFile(EstateSnapshot estate, EstateIndex index, string service)
    {
        if (estate.ServiceRegistry?.Services.TryGetValue(service, out var registered) == true && ServiceRules.Blank(registered.Compose) is { } compose)
        {
            return compose;
        }
        return index.StacksById.TryGetValue(service, out var stack) && stack.ComposeFiles.Count > 0 ? stack.ComposeFiles[0] : null;
    }
}
