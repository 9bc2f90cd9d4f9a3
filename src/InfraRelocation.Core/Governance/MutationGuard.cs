using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Governance;

/// <summary>
/// The verdict of <see cref="MutationGuard"/> on one change: the gates' errors on the estate before the change and on
/// the estate as it will be after it (in memory), and whether the change may go ahead.
/// </summary>
public sealed record GuardVerdict
{
    /// <summary>Errors of the guard's gates on the estate as it is.</summary>
    public IReadOnlyList<RelocationFinding> ErrorsBefore { get; init; } = [];
    /// <summary>Errors of the guard's gates on the estate as it will be after the change.</summary>
    public IReadOnlyList<RelocationFinding> ErrorsAfter { get; init; } = [];

    /// <summary>
    /// True when the change only removes errors: every error after it was already there before it (same rule, subject
    /// and message; its location may move) and at least one error before it is gone.
    /// </summary>
    public bool OnlyRemovesErrors { get; init; }

    /// <summary>Controlled fields that differ from what their last receipt set (<see cref="HandEditGate"/>); they block until adopted.</summary>
    public IReadOnlyList<RelocationFinding> HandEdits { get; init; } = [];

    private bool GatesPassed => ErrorsAfter.Count == 0 || OnlyRemovesErrors;

    /// <summary>No error after the change (or a change that only removes errors), and no unadopted hand edit.</summary>
    public bool Passed => GatesPassed && HandEdits.Count == 0;

    /// <summary>The errors that block the change (empty when it passed).</summary>
    public IReadOnlyList<RelocationFinding> Blocking => Passed ? [] : [.. GatesPassed ? [] : ErrorsAfter, .. HandEdits];

    /// <summary>True when a blocking error is a schema error (never overridable: the model itself is unreliable).</summary>
    public bool SchemaBlocks => Blocking.Any(MutationGuard.IsSchema);

    public static GuardVerdict Clean { get; } = new();
}

/// <summary>
/// The gates every relocation mutation passes first (protocol: "D35 + D37 must pass before any relocation
/// mutation"): SCHEMA, D35, D37 and the offline hypervisor identity check, evaluated on the estate as it will be
/// after the change, in memory, before anything is written or sent. See docs/design/mutation-guard.md.
/// </summary>
public static class MutationGuard
{
    /// <summary>The gates the guard runs, in order (D36, exception hygiene, is time-driven and only reported by Invoke-RelocationGate).</summary>
    public static readonly IReadOnlyList<string> Gates = [GateIds.Schema, GateIds.Parity, GateIds.Placement, GateIds.HypervisorIdentity];

    /// <summary>Rule ids of schema findings (the loader's validation) start with these.</summary>
    public static bool IsSchema(RelocationFinding finding) =>
        finding.RuleId.StartsWith("SCHEMA", StringComparison.Ordinal) || finding.RuleId.StartsWith("YAML", StringComparison.Ordinal);

    /// <summary>Judges a change from the estate before it and the estate after it.</summary>
    public static GuardVerdict Evaluate(EstateSnapshot before, EstateSnapshot after, DateTimeOffset now, Transitions.LedgerView? ledger = null)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var errorsBefore = Errors(before, now);
        var errorsAfter = ReferenceEquals(before, after) ? errorsBefore : Errors(after, now);
        var known = errorsBefore.Select(Key).ToHashSet(StringComparer.Ordinal);
        var remaining = errorsAfter.Select(Key).ToHashSet(StringComparer.Ordinal);
        var onlyRemoves = errorsAfter.Count > 0 && errorsAfter.All(f => known.Contains(Key(f))) && known.Any(k => !remaining.Contains(k));
        return new GuardVerdict
        {
            ErrorsBefore = errorsBefore, ErrorsAfter = errorsAfter, OnlyRemovesErrors = onlyRemoves,
            HandEdits = ledger is null ? [] : HandEditGate.Evaluate(before, ledger),
        };
    }

    /// <summary>Judges a change that leaves the estate's files as they are (a change on a host: bootstrap, hostname).</summary>
    public static GuardVerdict Evaluate(EstateSnapshot estate, DateTimeOffset now, Transitions.LedgerView? ledger = null) => Evaluate(estate, estate, now, ledger);

    /// <summary>Judges staged file contents (relative path → bytes that would be written) against the estate they change.</summary>
    public static GuardVerdict Evaluate(EstateSnapshot before, IReadOnlyDictionary<string, byte[]> changedFiles, DateTimeOffset now, Transitions.LedgerView? ledger = null,
        Yaml.LocatedTrees? trees = null)
    {
        ArgumentNullException.ThrowIfNull(changedFiles);
        return changedFiles.Count == 0 ? Evaluate(before, now, ledger) : Evaluate(before, EstateLoader.Load(before.Layout, changedFiles, trees), now, ledger);
    }

    /// <summary>Judges scalar edits of the estate's files (applied in memory to the bytes on disk).</summary>
    public static GuardVerdict Evaluate(EstateSnapshot before, IEnumerable<(string File, YamlEdit Edit)> edits, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        var staged = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var group in edits.GroupBy(e => e.File, StringComparer.Ordinal))
        {
            var full = Path.Combine(before.Layout.Root, group.Key);
            var bytes = File.ReadAllBytes(full);
            staged[group.Key] = YamlScalarEditor.Apply(bytes, group.Select(e => e.Edit), group.Key).Bytes;
        }
        return Evaluate(before, staged, now);
    }

    /// <summary>
    /// The verdict without the findings the change itself resolves (provisioning writes the vm_id a target lacks,
    /// so its missing vm_id is not held against it).
    /// </summary>
    public static GuardVerdict Except(GuardVerdict verdict, Func<RelocationFinding, bool> resolvedByTheChange)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        ArgumentNullException.ThrowIfNull(resolvedByTheChange);
        return verdict with
        {
            ErrorsBefore = verdict.ErrorsBefore.Where(f => !resolvedByTheChange(f)).ToList(),
            ErrorsAfter = verdict.ErrorsAfter.Where(f => !resolvedByTheChange(f)).ToList(),
        };
    }

    /// <summary>The guard's gates' errors on <paramref name="estate"/>.</summary>
    public static IReadOnlyList<RelocationFinding> Errors(EstateSnapshot estate, DateTimeOffset now) =>
        GateRunner.Run(estate, new GateOptions { Now = now }, Gates)
            .SelectMany(r => r.Findings).Where(f => f.Severity == FindingSeverity.Error).ToList();

    /// <summary>
    /// The refusal of a change whose verdict did not pass (null when it passed): <c>EstateSchemaInvalid</c> when the
    /// estate's files already break the schema (bad input: marked so that no receipt is written), else
    /// <c>MutationGuardBlocked</c> naming every blocking finding with its file:line:column.
    /// </summary>
    public static RelocationException? Refusal(GuardVerdict verdict, string what, bool canForce)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        if (verdict.Passed)
        {
            return null;
        }
        var schemaBefore = verdict.ErrorsBefore.Where(IsSchema).ToList();
        if (schemaBefore.Count > 0)
        {
            return MarkUnreadable(new RelocationException("EstateSchemaInvalid", FailureKind.InvalidData,
                $"The estate's files break the schema, so no change is made (nothing written or sent, no receipt):{Environment.NewLine}" +
                List(schemaBefore) + $"{Environment.NewLine}Test-RelocationManifest lists them all; fix them first.",
                schemaBefore[0].Location, what) { Findings = schemaBefore });
        }
        var fix = verdict.SchemaBlocks
            ? "Schema errors cannot be overridden; fix them first (Test-RelocationManifest lists them)."
            : canForce
                ? "Fix them (Invoke-RelocationGate lists them), or repeat with -Force -Reason '<why>' (recorded in the receipt)."
                : "Fix them first (Invoke-RelocationGate lists them).";
        return new RelocationException("MutationGuardBlocked", FailureKind.InvalidOperation,
            $"Refused: the gates (SCHEMA, D35, D37, IDENTITY, hand edits) fail on the estate as it would be after {what}: {verdict.Blocking.Count} error(s).{Environment.NewLine}" +
            List(verdict.Blocking) + Environment.NewLine + fix, verdict.Blocking[0].Location, what) { Findings = verdict.Blocking };
    }

    /// <summary>True when <paramref name="ex"/> says the estate could not be read or breaks the schema: bad input, no receipt.</summary>
    public static bool IsUnreadableEstate(RelocationException ex) =>
        ex is not null && (ex.Kind == FailureKind.ParserError || ex.Data.Contains(UnreadableKey));

    /// <summary>Marks <paramref name="ex"/> as bad input of the estate itself (see <see cref="IsUnreadableEstate"/>).</summary>
    public static RelocationException MarkUnreadable(RelocationException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        ex.Data[UnreadableKey] = true;
        return ex;
    }

    private const string UnreadableKey = "InfraRelocation.UnreadableEstate";

    private static string List(IReadOnlyList<RelocationFinding> list) =>
        string.Join(Environment.NewLine, list.Take(20).Select(f => "  " + f)) + (list.Count > 20 ? $"{Environment.NewLine}  … and {list.Count - 20} more" : "");

    private static string Key(RelocationFinding f) => $"{f.RuleId}\n{f.Subject}\n{f.Message}";
}
