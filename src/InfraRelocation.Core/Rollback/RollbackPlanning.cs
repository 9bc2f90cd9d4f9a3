using System.Globalization;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Rollback;

/// <summary>What the operator asks for: which service, why, and the overrides.</summary>
public sealed record RollbackRequest(string Service, string Why)
{
    public string Actor { get; init; } = Environment.UserName;
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>-Force -Reason: roll back outside max_rollback_window_hours, and past the mutation guard's D35/D37 errors.</summary>
    public string? ForceReason { get; init; }
    /// <summary>Folder of the incident records, relative to the estate root.</summary>
    public string IncidentFolder { get; init; } = "docs/incidents";
}

/// <summary>
/// Decides a service's rollback before anything runs (so bad input changes nothing anywhere): the protocol's seven
/// steps with their exact remote commands, and the SSOT values to write back. Refuses, with one error, a service that
/// did not move, has no rollback_to (or one that breaks DR policy), is outside the rollback window, whose move the
/// ledger does not record, whose stop/start or restore commands the estate does not give, or whose moved values were
/// changed since by someone else.
/// </summary>
public static class RollbackPlanning
{
    public static RollbackJournal Plan(EstateSnapshot estate, LedgerView ledger, RollbackRequest request)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(request);
        var manifest = estate.Manifest ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {estate.Layout.RelativePath(EstateFile.Manifest)} does not exist.", null, estate.Layout.RelativePath(EstateFile.Manifest));
        var name = request.Service;
        var move = manifest.Services.FirstOrDefault(s => s.Service == name) ?? throw new RelocationException("ServiceNotFound", FailureKind.ObjectNotFound,
            $"The manifest has no service '{name}'. Services: {string.Join(", ", manifest.Services.Select(s => s.Service))}.", new SourceLocation(manifest.File, 1, 1), name);
        if (!ServiceRules.IsPastPlanned(move) || move.Status == ServiceStatus.RolledBack)
        {
            throw new RelocationException("RollbackNothingMoved", FailureKind.InvalidOperation,
                $"'{name}' is {move.StatusText ?? "(no status)"}: it has not moved, so there is nothing to roll back.", move.LocationOf("status"), name);
        }
        var plan = RollbackPlanner.Plan(estate, name);
        if (plan.Errors.FirstOrDefault() is { } refused)
        {
            throw refused.RuleId == "RollbackTargetViolatesDrPolicy"
                ? new RelocationException("RollbackTargetViolatesDrPolicy", FailureKind.InvalidData, refused.Message, refused.Location, name)
                : new RelocationException("RollbackTargetMissing", FailureKind.InvalidData, refused.Message, refused.Location, name);
        }
        var changeId = manifest.ActiveRelocation?.ChangeId;
        var rollbackTo = ServiceRules.Blank(move.RollbackTo)!;
        var newHost = ServiceRules.Blank(move.ToHost);
        var notes = new List<string>();

        // The rollback window (rollback.max_rollback_window_hours), from when the ledger says the service entered its status.
        if (manifest.Rollback?.MaxRollbackWindowHours is { } hours)
        {
            var since = ledger.LastEntered(name, move.StatusText ?? "", changeId);
            if (since is { } at && request.Now - at > TimeSpan.FromHours(hours))
            {
                var text = $"'{name}' became {move.StatusText} at {TransitionPlanner.Timestamp(at)}, {(request.Now - at).TotalHours:0.#} h ago: outside the {hours:0.##} h rollback window (rollback.max_rollback_window_hours).";
                if (request.ForceReason is null)
                {
                    throw new RelocationException("RollbackWindowExpired", FailureKind.InvalidOperation,
                        text + " Repeat with -Force to roll back anyway (the reason is recorded).", manifest.Rollback.LocationOf("max_rollback_window_hours"), name);
                }
                notes.Add(text + $" Rolled back anyway (-Force): {request.ForceReason}");
            }
        }

        var record = MoveRecord.Read(ledger, changeId, name) ?? throw new RelocationException("RollbackMoveNotRecorded", FailureKind.ObjectNotFound,
            $"The receipt ledger has no committed transition of '{name}' for {changeId ?? "this relocation"}, so what its move changed is unknown (it was moved by hand, or the ledger was archived). Nothing was run; revert the files by hand and set its status with Set-RelocationServiceStatus.",
            move.LocationOf("status"), name);

        var registered = estate.ServiceRegistry?.Services.GetValueOrDefault(name);
        var control = ServiceControl.For(registered) ?? throw new RelocationException("RollbackCommandsMissing", FailureKind.InvalidData,
            $"The service registry does not say how to stop and start '{name}': give services.{name}.unit (a systemd unit), compose (a compose file) or commands.stop and commands.start.",
            registered?.Location ?? new SourceLocation(estate.Layout.RelativePath(EstateFile.ServiceRegistry), 1, 1), name);

        var steps = new List<JournalStep>();
        void Add(string step, RollbackStepKind kind, string? host, string? check, string? run, bool remote) =>
            steps.Add(new JournalStep { Order = steps.Count + 1, Name = step, Kind = kind, Host = host, Check = check, Run = run, Remote = remote });

        Add("reach", RollbackStepKind.Verify, rollbackTo, "true", null, remote: true); // the way back answers before the service stops anywhere
        if (newHost is not null && newHost != rollbackTo)
        {
            Add("stop", RollbackStepKind.Stop, newHost, control.Running is null ? "" : $"! {{ {control.Running}; }}", control.Stop, remote: true);
        }
        if (ServiceRules.Blank(move.BackupTarget) is { } backup && manifest.Rollback?.RequiresBackupVerification == true)
        {
            var env = $"BACKUP_TARGET={ShellQuote.Single(backup)}; export BACKUP_TARGET; ";
            var verify = ServiceControl.Blank(registered?.Commands?.VerifyBackup);
            var restore = ServiceControl.Blank(registered?.Commands?.Restore);
            if (verify is null || restore is null)
            {
                throw new RelocationException("RollbackRestoreCommandMissing", FailureKind.InvalidData,
                    $"'{name}' has backup_target {backup} and the manifest's rollback section requires backup verification, but the service registry gives no commands.{(verify is null ? "verify_backup" : "restore")} for it.",
                    registered?.LocationOf("commands") ?? registered?.Location, name);
            }
            Add("verify-backup", RollbackStepKind.Restore, rollbackTo, env + verify, null, remote: true);
            Add("restore", RollbackStepKind.Restore, rollbackTo, "", env + restore, remote: true);
        }
        Add("start", RollbackStepKind.Start, rollbackTo, control.Running ?? "", control.Start, remote: true);
        if (ServiceControl.Blank(registered?.Commands?.Route) is { } route)
        {
            Add("route", RollbackStepKind.Route, rollbackTo, "", route, remote: true);
        }
        else
        {
            Add("route", RollbackStepKind.Route, null, null,
                $"Point DNS and routing for {name} at {rollbackTo} by hand (the estate defines no commands.route), then confirm with -RoutingConfirmed.", remote: false);
        }

        var reverts = Reverts(estate, record, plan, notes);
        var status = reverts.FirstOrDefault(r => r.File == manifest.File && r.Path.EndsWith(".status", StringComparison.Ordinal));
        Add("revert", RollbackStepKind.Revert, null, null,
            $"Write back {reverts.Count} value(s) in {string.Join(", ", reverts.Select(r => r.File).Distinct())} as one transaction.", remote: false);
        Add("gates", RollbackStepKind.Verify, null, null, "D35 and D37 must pass on the estate as written.", remote: false);
        var stamp = request.Now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var incident = $"{request.IncidentFolder.Trim().TrimEnd('/', '\\')}/{changeId ?? "no-change"}-{name}-rollback-{stamp}.md".Replace('\\', '/');
        new EstateBoundary(estate.Layout.Root).Resolve(incident); // an incident folder outside the estate is refused now, not at step 7
        Add("document", RollbackStepKind.Document, null, null, $"Write the incident record {incident} with its receipt.", remote: false);

        return new RollbackJournal
        {
            ChangeId = changeId, Service = name, StatusAtStart = move.StatusText, StatusBeforeMove = status?.Value,
            NewHost = newHost, RollbackTo = rollbackTo, Actor = request.Actor, Why = request.Why, ForceReason = request.ForceReason,
            StartedUtc = request.Now, IncidentPath = incident, MoveRuns = record.RunIds, Steps = steps, Reverts = reverts,
            DigestsBefore = record.DigestsBefore, Notes = notes,
        };
    }

    /// <summary>
    /// On resume: the unfinished remote steps take their commands from the estate as it is now (a failing command is
    /// fixed in the service registry, then the rollback resumes), the rest of the frozen plan stays. A command the
    /// estate no longer gives is an error before anything runs.
    /// </summary>
    public static RollbackJournal Refresh(EstateSnapshot estate, RollbackJournal journal)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(journal);
        var registered = estate.ServiceRegistry?.Services.GetValueOrDefault(journal.Service);
        var control = ServiceControl.For(registered);
        var backup = estate.Manifest?.Services.FirstOrDefault(s => s.Service == journal.Service) is { } move ? ServiceRules.Blank(move.BackupTarget) : null;
        var env = backup is null ? "" : $"BACKUP_TARGET={ShellQuote.Single(backup)}; export BACKUP_TARGET; ";
        var commands = registered?.Commands;
        (string? Check, string? Run)? Now(JournalStep step) => step.Name switch
        {
            "stop" when control is not null => (control.Running is null ? "" : $"! {{ {control.Running}; }}", control.Stop),
            "start" when control is not null => (control.Running ?? "", control.Start),
            "verify-backup" when ServiceControl.Blank(commands?.VerifyBackup) is { } verify => (env + verify, null),
            "restore" when ServiceControl.Blank(commands?.Restore) is { } restore => ("", env + restore),
            "route" when ServiceControl.Blank(commands?.Route) is { } route => ("", route),
            "reach" or "route" => (step.Check, step.Run),
            _ => null,
        };
        var steps = new List<JournalStep>();
        foreach (var step in journal.Steps)
        {
            if (!step.Remote || step.Finished)
            {
                steps.Add(step);
                continue;
            }
            var now = Now(step) ?? throw new RelocationException("RollbackCommandsMissing", FailureKind.InvalidData,
                $"The rollback of {journal.Service} resumes at step {step.Name}, but the service registry no longer gives its command; nothing was run. Restore the command in services.{journal.Service}.",
                registered?.Location, journal.Service);
            steps.Add(step with { Check = now.Check, Run = now.Run });
        }
        return journal with { Steps = steps };
    }

    /// <summary>
    /// The values to write back: every value the move's receipts changed (the value before its first change), then the
    /// surfaces the plan reverts that no receipt wrote (edited by hand for the move: the value the plan names, rollback_to).
    /// A value someone changed since the move is a conflict (refused), except the manifest's updated_at, which a later
    /// transition of another service legitimately re-stamped (left as it is).
    /// </summary>
    private static List<RevertEdit> Reverts(EstateSnapshot estate, MoveRecord record, RollbackPlan plan, List<string> notes)
    {
        var root = estate.Layout.Root;
        var boundary = new EstateBoundary(root);
        var cache = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        string? Current(string file, string path)
        {
            if (!cache.TryGetValue(file, out var bytes))
            {
                var full = boundary.Resolve(file);
                cache[file] = bytes = File.Exists(full) ? File.ReadAllBytes(full) : null;
            }
            return bytes is null ? null : YamlScalarEditor.ReadScalar(bytes, path, file);
        }
        var edits = new List<RevertEdit>();
        var runs = string.Join(", ", record.RunIds.Where(r => r.Length > 0));
        foreach (var change in Enumerable.Reverse(record.Changes))
        {
            if (string.Equals(change.Before, change.After, StringComparison.Ordinal))
            {
                continue;
            }
            var now = Current(change.File, change.Path);
            if (!string.Equals(now, change.After, StringComparison.Ordinal))
            {
                if (change.Path == TransitionPlanner.UpdatedAtPath)
                {
                    notes.Add($"{change.File} {change.Path} is {now}, re-stamped after the move by a later transition; left as it is.");
                    continue;
                }
                throw new RelocationException("RollbackRevertConflict", FailureKind.InvalidOperation,
                    $"{change.File} {change.Path} is '{now ?? "(none)"}', but the move wrote '{change.After ?? "(none)"}': it was changed since the move, so writing back '{change.Before ?? "(none)"}' could undo someone else's change. Nothing was run; resolve it by hand first.",
                    new SourceLocation(change.File, 1, 1), change.Path);
            }
            edits.Add(new RevertEdit { File = change.File, Path = change.Path, Value = change.Before, Expected = change.After, Source = $"receipt(s) {runs}" });
        }
        var covered = edits.Select(e => (e.File, e.Path)).ToHashSet();
        var manifestFile = estate.Manifest!.File;
        foreach (var step in plan.Steps.Where(s => s.Kind == RollbackStepKind.Revert && s.File is not null && s.File != manifestFile))
        {
            if (step.DocumentPath is null || covered.Contains((step.File!, step.DocumentPath)))
            {
                continue;
            }
            if (step.CurrentValue is null || step.RevertTo is null || !IsYaml(step.File!))
            {
                notes.Add($"Not reverted automatically, for a human: {step.Action}");
                continue;
            }
            edits.Add(new RevertEdit { File = step.File!, Path = step.DocumentPath, Value = step.RevertTo, Expected = step.CurrentValue, Source = "rollback plan (no receipt wrote it)" });
        }
        return edits;
    }

    private static bool IsYaml(string file) =>
        file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
}
