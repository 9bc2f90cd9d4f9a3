using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Model;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Transitions;

/// <summary>Start-Relocation: a new <c>active_relocation</c> in state planning.</summary>
public sealed record StartRelocationRequest(string ChangeId, string Owner);

/// <summary>
/// A block edit of a file planned from its exact bytes (<see cref="OriginalSha256"/>): the new content and its diff.
/// Staging refuses (<c>EstateValueChanged</c>) when the file no longer holds the bytes the plan was made from.
/// </summary>
public sealed record PlannedRewrite(string File, string OriginalSha256, byte[] Content, string Diff);

/// <summary>
/// The relocation lifecycle: starting one (<c>active_relocation</c> with change_id, owner, state planning) and
/// archiving a complete one into <c>completed_relocations</c> (with completed_at and its evidence), leaving
/// <c>active_relocation: null</c>. The manifest is changed by line-level block edits that keep every other byte,
/// and the result is parsed again and checked before it is staged.
/// </summary>
public static partial class RelocationLifecycle
{
    public const string StartCapability = "infra.relocation.start";
    public const string ArchiveCapability = "infra.relocation.archive";
    public const string StateCapability = "infra.relocation.state.transition";

    public static TransitionPlan PlanStart(EstateSnapshot estate, StartRelocationRequest request, TransitionEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var changeId = Field(request.ChangeId, "ChangeId");
        var owner = Field(request.Owner, "Owner");
        var (manifest, relative, text, sha) = Read(estate);
        if (manifest.ActiveRelocation is { } active)
        {
            throw new RelocationException("RelocationAlreadyActive", FailureKind.InvalidOperation,
                $"{relative} already has an active relocation ({active.ChangeId}, state {active.StateText}); finish and archive it first (Close-Relocation once it is complete).",
                active.Location ?? new SourceLocation(relative, 1, 1), active.ChangeId);
        }
        if (manifest.CompletedRelocations.FirstOrDefault(c => c.ChangeId == changeId) is { } done)
        {
            throw new RelocationException("RelocationChangeIdUsed", FailureKind.InvalidArgument,
                $"The change id {changeId} is already archived in completed_relocations; each relocation needs its own change id.",
                done.Location ?? new SourceLocation(relative, 1, 1), changeId);
        }
        var eol = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var block = $"active_relocation:{eol}  change_id: {Quote(changeId)}{eol}  state: \"planning\"{eol}  owner: {Quote(owner)}{eol}" +
                    $"  approved_by: null{eol}  updated_at: \"{TransitionPlanner.Timestamp(env.Now)}\"{eol}";
        var replacements = new List<YamlScalarEditor.Replacement>();
        var key = TopLevelKey(text, "active_relocation");
        if (key is { } k)
        {
            // The manifest says there is no active relocation, so the key's value is null/empty: replace its line.
            replacements.Add(new YamlScalarEditor.Replacement(k.LineStart, k.NextLineStart, block));
        }
        else
        {
            var end = text.Length;
            replacements.Add(new YamlScalarEditor.Replacement(end, end, (text.Length == 0 || text.EndsWith('\n') ? "" : eol) + block));
        }
        var rewrite = Rewrite(estate, relative, text, sha, replacements, m =>
            m.ActiveRelocation is { State: RelocationState.Planning } a && a.ChangeId == changeId && a.Owner == owner);
        return new TransitionPlan
        {
            Subject = "relocation", ChangeId = changeId, Before = null, After = "planning",
            Rewrites = [rewrite],
            Summary = $"Start relocation {changeId} (owner {owner}) in state planning",
        };
    }

    public static TransitionPlan PlanArchive(EstateSnapshot estate, TransitionEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(env);
        var (manifest, relative, text, sha) = Read(estate);
        var active = manifest.ActiveRelocation ?? throw new RelocationException("NoActiveRelocation", FailureKind.InvalidOperation,
            $"{relative} has no active relocation to archive.", new SourceLocation(relative, 1, 1), relative);
        if (active.State != RelocationState.Complete)
        {
            throw new RelocationException("RelocationNotComplete", FailureKind.InvalidOperation,
                $"Relocation {active.ChangeId} is in state {active.StateText}; only a complete relocation is archived (Set-RelocationState complete first).",
                active.LocationOf("state"), active.ChangeId);
        }
        var eol = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var key = TopLevelKey(text, "active_relocation") ?? throw Unsupported(relative, "active_relocation is not a top-level block key");
        // Up to the block's last line: the blank lines and column-0 comments before the next key stay where they are.
        var blockEnd = LastContentLineEnd(text, key.NextLineStart, SectionEnd(text, key.NextLineStart));
        var body = text[key.NextLineStart..blockEnd];
        if (key.Rest.Length > 0 || body.Trim().Length == 0)
        {
            throw Unsupported(relative, "active_relocation is not written as a block mapping");
        }

        var completed = TopLevelKey(text, "completed_relocations");
        var itemIndent = "  ";
        if (completed is { } c && c.Rest is not ("" or "[]" or "null" or "~"))
        {
            throw Unsupported(relative, "completed_relocations is written in flow style");
        }
        var completedEnd = completed is { } cc ? SectionEnd(text, cc.NextLineStart) : -1;
        if (completed is { } c2)
        {
            var first = ItemLine().Match(text[c2.NextLineStart..completedEnd]);
            if (first.Success)
            {
                itemIndent = first.Groups[1].Value;
            }
        }

        var evidence = Evidence(env.Ledger, active.ChangeId);
        var entry = Entry(body, itemIndent, eol,
            [$"completed_at: \"{TransitionPlanner.Timestamp(env.Now)}\"",
             "evidence:",
             $"  ledger: {Quote(LedgerLabel(estate))}",
             $"  complete_run: {(evidence.CompleteRun is { } run ? Quote(run) : "null")}",
             $"  receipts: {evidence.Receipts.ToString(CultureInfo.InvariantCulture)}"]);

        var replacements = new List<YamlScalarEditor.Replacement>
        {
            new(key.LineStart, blockEnd, $"active_relocation: null{eol}" + (completed is null ? $"{eol}completed_relocations:{eol}{entry}" : "")),
        };
        if (completed is { } target)
        {
            if (target.Rest.Length > 0)
            {
                // completed_relocations: [] / null → a block sequence with this entry.
                replacements.Add(new YamlScalarEditor.Replacement(target.LineStart, target.NextLineStart, $"completed_relocations:{eol}{entry}"));
            }
            else
            {
                var at = LastContentLineEnd(text, target.NextLineStart, completedEnd);
                replacements.Add(new YamlScalarEditor.Replacement(at, at, entry));
            }
        }
        replacements.Sort((a, b) => a.Start.CompareTo(b.Start));
        var changeId = active.ChangeId;
        var count = manifest.CompletedRelocations.Count;
        var rewrite = Rewrite(estate, relative, text, sha, replacements, m =>
            m.ActiveRelocation is null && m.CompletedRelocations.Count == count + 1 &&
            m.CompletedRelocations.Any(r => r.ChangeId == changeId && r.CompletedAt is not null));
        return new TransitionPlan
        {
            Subject = "relocation", ChangeId = changeId, Before = active.StateText, After = "archived",
            Rewrites = [rewrite],
            Summary = $"Archive relocation {changeId} into completed_relocations ({evidence.Receipts} receipt(s) of evidence)",
        };
    }

    /// <summary>What the ledger holds for <paramref name="changeId"/>: how many receipts, and the run that entered complete.</summary>
    public static (int Receipts, string? CompleteRun) Evidence(LedgerView ledger, string? changeId)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var mine = ledger.Entries.Where(e => e.String("ChangeId") == changeId).ToList();
        var complete = mine.LastOrDefault(e => e.Capability == StateCapability && e.String("Outcome") == "Succeeded" && e.String("After") == "complete");
        return (mine.Count, complete?.String("RunId"));
    }

    private static string LedgerLabel(EstateSnapshot estate)
    {
        var full = Path.Combine(estate.Layout.ActiveReceiptsPath, Receipts.ReceiptStore.LedgerFileName);
        return Path.GetRelativePath(estate.Layout.Root, full).Replace('\\', '/');
    }

    private static (RelocationManifest Manifest, string Relative, string Text, string Sha) Read(EstateSnapshot estate)
    {
        var relative = estate.Layout.RelativePath(EstateFile.Manifest);
        var manifest = estate.Manifest ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {relative} does not exist.", null, relative);
        var bytes = File.ReadAllBytes(estate.Layout.FullPath(EstateFile.Manifest));
        var sha = Digest.Sha256Hex(bytes);
        if (estate.InputDigests.TryGetValue(relative, out var loaded) && loaded != sha)
        {
            throw new RelocationException("EstateFileChanged", FailureKind.InvalidOperation,
                $"{relative} changed while it was being read; nothing was written. Re-run to re-evaluate.", new SourceLocation(relative, 1, 1), relative);
        }
        var bom = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF;
        return (manifest, relative, Encoding.UTF8.GetString(bytes, bom ? 3 : 0, bytes.Length - (bom ? 3 : 0)), sha);
    }

    private static PlannedRewrite Rewrite(EstateSnapshot estate, string relative, string text, string sha,
        List<YamlScalarEditor.Replacement> replacements, Func<RelocationManifest, bool> verify)
    {
        var sb = new StringBuilder();
        var pos = 0;
        foreach (var r in replacements)
        {
            sb.Append(text, pos, r.Start - pos).Append(r.Text);
            pos = r.End;
        }
        sb.Append(text, pos, text.Length - pos);
        var original = File.ReadAllBytes(estate.Layout.FullPath(EstateFile.Manifest));
        var bom = original.Length >= 3 && original[0] == 0xEF && original[1] == 0xBB && original[2] == 0xBF;
        var content = (bom ? original[..3] : []).Concat(new UTF8Encoding(false).GetBytes(sb.ToString())).ToArray();
        // Verified edit: the new bytes parse and say what was intended, or nothing is staged.
        var after = EstateLoader.Load(estate.Layout, new Dictionary<string, byte[]>(StringComparer.Ordinal) { [relative] = content });
        if (after.Manifest is not { } m || !verify(m))
        {
            throw new RelocationException("LifecycleEditUnverified", FailureKind.InvalidData,
                $"The edit of {relative} did not read back as intended; nothing was written. Edit the manifest by hand and report this.",
                new SourceLocation(relative, 1, 1), relative);
        }
        return new PlannedRewrite(relative, sha, content, UnifiedDiff.FromReplacements(text, replacements, relative));
    }

    private static string Entry(string body, string itemIndent, string eol, IReadOnlyList<string> extra)
    {
        var lines = body.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        while (lines.Count > 0 && lines[^1].Trim().Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        var sb = new StringBuilder();
        var first = true;
        foreach (var line in lines.Select(l => l.Trim().Length == 0 ? "" : l[indent..]).Concat(extra))
        {
            if (line.Length == 0)
            {
                continue;
            }
            var isContent = !line.StartsWith('#');
            sb.Append(itemIndent).Append(first && isContent ? "- " : "  ").Append(line).Append(eol);
            first &= !isContent;
        }
        return sb.ToString();
    }

    private sealed record KeyLine(int LineStart, int NextLineStart, string Rest);

    /// <summary>The line of a top-level key (column 0) and its value text after the colon (comments stripped).</summary>
    private static KeyLine? TopLevelKey(string text, string key)
    {
        var m = Regex.Match(text, $@"^{Regex.Escape(key)}[ \t]*:[ \t]*(?<rest>[^\r\n#]*?)[ \t]*(#[^\r\n]*)?\r?$", RegexOptions.Multiline);
        if (!m.Success)
        {
            return null;
        }
        var next = text.IndexOf('\n', m.Index);
        return new KeyLine(m.Index, next < 0 ? text.Length : next + 1, m.Groups["rest"].Value.Trim().Trim('"', '\''));
    }

    /// <summary>Where a block section that starts at <paramref name="from"/> ends: the next line at column 0 (content or comment).</summary>
    private static int SectionEnd(string text, int from)
    {
        var pos = from;
        while (pos < text.Length)
        {
            var next = text.IndexOf('\n', pos);
            var end = next < 0 ? text.Length : next + 1;
            var line = text[pos..end].TrimEnd('\r', '\n');
            if (line.Length > 0 && line[0] is not (' ' or '\t'))
            {
                return pos;
            }
            pos = end;
        }
        return text.Length;
    }

    /// <summary>The end of the last indented (non-blank) line of a section, where a new item goes.</summary>
    private static int LastContentLineEnd(string text, int from, int to)
    {
        var at = from;
        var pos = from;
        while (pos < to)
        {
            var next = text.IndexOf('\n', pos);
            var end = next < 0 ? text.Length : next + 1;
            if (text[pos..end].Trim().Length > 0)
            {
                at = end;
            }
            pos = end;
        }
        return at;
    }

    [GeneratedRegex(@"^([ \t]*)- ", RegexOptions.Multiline)]
    private static partial Regex ItemLine();

    private static string Field(string? value, string name)
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v) || v.Length > 200 || v.Any(char.IsControl))
        {
            throw new RelocationException("InvalidLifecycleField", FailureKind.InvalidArgument,
                $"-{name} must be a non-empty single line of at most 200 characters.", null, value);
        }
        return v;
    }

    private static string Quote(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", _ => c.ToString() });
        }
        return sb.Append('"').ToString();
    }

    private static RelocationException Unsupported(string relative, string why) =>
        new("LifecycleLayoutUnsupported", FailureKind.InvalidData,
            $"{relative}: {why}; archive it by hand (the cmdlet only edits the block layout the protocol uses).", new SourceLocation(relative, 1, 1), relative);
}
