using System.Text.Json;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Rollback;

/// <summary>
/// What the ledger says one service's move changed: every value its committed transitions wrote (first value before,
/// last value after, per file and document path) and the SHA-256 of each file before the move's first write to it.
/// The move starts at the service's last committed transition out of <c>planned</c> (or the first one of the
/// relocation) and ends at its latest one; a finished rollback of the service ends the previous move.
/// </summary>
public sealed record MoveRecord(IReadOnlyList<ValueChange> Changes, IReadOnlyDictionary<string, string?> DigestsBefore, IReadOnlyList<string> RunIds)
{
    public const string RollbackCapability = "infra.relocation.rollback";

    public static MoveRecord? Read(LedgerView ledger, string? changeId, string service)
    {
        var move = new List<LedgerEntry>();
        foreach (var e in ledger.Relocation(changeId))
        {
            if (e.String("Mode") != "Execute" || e.String("Outcome") != "Succeeded" || e.String("Service") != service)
            {
                continue;
            }
            if (e.Capability == RollbackCapability)
            {
                if (e.String("IncidentRecord") is not null)
                {
                    move.Clear(); // a finished rollback: what came before is undone
                }
                continue;
            }
            if (e.Capability is not (LedgerView.ServiceCapability or LedgerView.PromotionCapability))
            {
                continue;
            }
            if (e.String("Before") == "planned")
            {
                move.Clear();
            }
            move.Add(e);
        }
        if (move.Count == 0)
        {
            return null;
        }
        var first = new Dictionary<(string, string), ValueChange>();
        var order = new List<(string, string)>();
        var digests = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var e in move)
        {
            foreach (var c in Array(e, "Changes"))
            {
                var change = new ValueChange { File = Str(c, "File") ?? "", Path = Str(c, "Path") ?? "", Before = Str(c, "Before"), After = Str(c, "After") };
                var key = (change.File, change.Path);
                if (first.TryGetValue(key, out var earlier))
                {
                    first[key] = earlier with { After = change.After };
                }
                else
                {
                    first[key] = change;
                    order.Add(key);
                }
            }
            foreach (var f in Array(e, "Files"))
            {
                if (Str(f, "Path") is { } path && !digests.ContainsKey(path))
                {
                    digests[path] = Str(f, "OldSha256");
                }
            }
        }
        return new MoveRecord(order.Select(k => first[k]).ToList(), digests, move.Select(e => e.String("RunId") ?? "").ToList());
    }

    private static IEnumerable<JsonElement> Array(LedgerEntry e, string name) =>
        e.Receipt.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array ? a.EnumerateArray() : [];

    private static string? Str(JsonElement item, string name) =>
        item.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
