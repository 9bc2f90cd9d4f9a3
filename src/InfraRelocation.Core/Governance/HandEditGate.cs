using System.Text.Json;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Governance;

/// <summary>
/// Hand edits of controlled fields: the manifest's state, approved_by, and every service and VM target status must be
/// what the last receipt of a controlled capability (a Succeeded Execute run of the active relocation, or an adoption
/// with Approve-RelocationEdit) set. A field no receipt ever set is not judged (the ledger cannot say).
/// </summary>
public static class HandEditGate
{
    public const string AdoptCapability = "infra.relocation.handedit.adopt";

    /// <summary>The value a receipt last set for a document path of the manifest, and that receipt.</summary>
    public sealed record ControlledValue(string? Value, LedgerEntry Receipt);

    /// <summary>One finding per controlled field that differs from what its last receipt set.</summary>
    public static IReadOnlyList<RelocationFinding> Evaluate(EstateSnapshot estate, LedgerView ledger)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(ledger);
        if (estate.Manifest is not { ActiveRelocation: { } active } manifest)
        {
            return [];
        }
        var set = LastSet(ledger, active.ChangeId, manifest.File);
        if (set.Count == 0)
        {
            return [];
        }
        var findings = new List<RelocationFinding>();
        void Check(string path, string? current, SourceLocation? location, string label, string? subject)
        {
            if (set.TryGetValue(path, out var last) && !string.Equals(Normal(last.Value), Normal(current), StringComparison.Ordinal))
            {
                var at = location ?? new SourceLocation(manifest.File, 1, 1);
                findings.Add(RelocationFinding.Error("HANDEDIT.FieldChanged",
                    $"{label} is {current ?? "null"} at {at}; the last {last.Receipt.String("Command") ?? last.Receipt.Capability} set {last.Value ?? "null"}, " +
                    $"run {last.Receipt.String("RunId")} ({last.Receipt.String("EndedUtc")}). Restore it, or adopt the reviewed hand edit with Approve-RelocationEdit -ApprovedBy '<who>'.",
                    at, path, subject ?? active.ChangeId, expected: last.Value, actual: current));
            }
        }
        Check(TransitionPlanner.StatePath, active.StateText, active.LocationOf("state"), "state", null);
        Check(TransitionPlanner.ApprovedByPath, active.ApprovedBy, active.LocationOf("approved_by"), "approved_by", null);
        foreach (var s in manifest.Services)
        {
            Check($"{TransitionPlanner.ServicePath(s)}.status", s.StatusText, s.LocationOf("status"), $"the status of service {s.Service}", s.Service);
        }
        foreach (var vm in manifest.VmTargets)
        {
            Check($"{TransitionPlanner.VmTargetPath(vm)}.status", vm.StatusText, vm.LocationOf("status"), $"the status of VM target {vm.Hostname}", vm.Hostname);
        }
        return findings;
    }

    /// <summary>
    /// Document path of <paramref name="file"/> → the value the last Succeeded Execute receipt of <paramref name="changeId"/>
    /// wrote there (its Changes), in ledger order. When the estate lists <c>receipts.signers</c>, only receipts a listed key
    /// signed count (a forged receipt must not make a hand edit look controlled).
    /// </summary>
    public static IReadOnlyDictionary<string, ControlledValue> LastSet(LedgerView ledger, string? changeId, string file)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var set = new Dictionary<string, ControlledValue>(StringComparer.Ordinal);
        foreach (var e in ledger.Entries)
        {
            if (e.String("Mode") != "Execute" || e.String("Outcome") != "Succeeded" || !string.Equals(e.String("ChangeId"), changeId, StringComparison.Ordinal)
                || (ledger.Signers.Count > 0 && ledger.SignatureOf(e).Status != Receipts.ReceiptSignatureStatus.Valid)
                || !e.Receipt.TryGetProperty("Changes", out var changes) || changes.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            foreach (var c in changes.EnumerateArray())
            {
                if (c.ValueKind == JsonValueKind.Object && Str(c, "File") == file && Str(c, "Path") is { } path)
                {
                    set[path] = new ControlledValue(Str(c, "After"), e);
                }
            }
        }
        return set;
    }

    private static string? Normal(string? value) => string.IsNullOrWhiteSpace(value) || value == "null" ? null : value;

    private static string? Str(JsonElement item, string name) =>
        item.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
