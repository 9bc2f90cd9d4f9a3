using System.Collections.Concurrent;

namespace InfraRelocation.Core.Yaml;

/// <summary>
/// The located trees a stage of a change (a preview, a commit) edits: each text is parsed once, however many readers
/// need it. The loader keeps the tree of each file the stage will edit (<see cref="Editing"/>) for the editor, and lets
/// every other file's tree go before it parses the next (peak memory on large estates). The editor's read-back of its
/// result is the tree the mutation guard judges and the check after the write reads (<see cref="Reuse"/>). Trees are
/// not changed after parsing, so readers share them. Owned by the stage's <see cref="Persistence.EstateTransaction"/>
/// and dropped with it. See docs/design/transactions.md, "One parse per text and stage".
/// </summary>
public sealed class LocatedTrees
{
    private readonly ConcurrentDictionary<string, Lazy<Parsed>> _trees = new();

    private sealed record Parsed(YNode? Root, bool HasAliases);

    /// <summary>How many texts were parsed (each once).</summary>
    public int Parses => _trees.Count;

    private readonly HashSet<string> _editing = new(StringComparer.Ordinal);

    /// <summary>
    /// Declares files (relative paths, forward slashes) this stage will edit: the loader keeps their trees for the
    /// editor instead of parsing the same bytes twice. A file declared but not edited only costs its tree's memory
    /// for the stage; one edited but not declared is parsed twice.
    /// </summary>
    public LocatedTrees Editing(IEnumerable<string> relativePaths)
    {
        lock (_editing)
        {
            foreach (var path in relativePaths)
            {
                _editing.Add(path.Replace('\\', '/'));
            }
        }
        return this;
    }

    private bool Edits(string relativePath)
    {
        lock (_editing)
        {
            return _editing.Contains(relativePath.Replace('\\', '/'));
        }
    }

    /// <summary>
    /// The loader's way: the tree of a text this stage already holds; else parsed, and kept when the stage edits the
    /// file (<see cref="Editing"/>), or let go.
    /// </summary>
    public YNode? Reuse(string text, string relativePath) =>
        _trees.TryGetValue(text, out var held) && held.IsValueCreated ? Refusing(held.Value, text, relativePath)
        : Edits(relativePath) ? Parse(text, relativePath)
        : LocatedYamlReader.Parse(text, relativePath);

    /// <summary>
    /// <see cref="LocatedYamlReader.Parse"/>, kept for the rest of the stage and reused when the same text is read
    /// again. A reader that refuses aliases gets the parser's own located refusal when the text has one.
    /// </summary>
    public YNode? Parse(string text, string relativePath, bool allowAliases = false)
    {
        // Parsed once with aliases kept (the editor needs them); a parse error is not kept, so it is raised to every
        // reader. Keyed by the text alone: a tree holds positions, not the file's name.
        var parsed = _trees.GetOrAdd(text, key => new Lazy<Parsed>(() =>
        {
            var root = LocatedYamlReader.Parse(key, relativePath, allowAliases: true);
            return new Parsed(root, root is not null && HasAlias(root));
        }));
        Parsed value;
        try
        {
            value = parsed.Value;
        }
        catch (RelocationException)
        {
            _trees.TryRemove(new KeyValuePair<string, Lazy<Parsed>>(text, parsed));
            throw;
        }
        return allowAliases ? value.Root : Refusing(value, text, relativePath);
    }

    private static YNode? Refusing(Parsed parsed, string text, string relativePath) =>
        parsed.HasAliases ? LocatedYamlReader.Parse(text, relativePath) : parsed.Root;

    private static bool HasAlias(YNode node) => node switch
    {
        YAlias => true,
        YMapping mapping => mapping.Entries.Any(e => HasAlias(e.Value)),
        YSequence sequence => sequence.Items.Any(HasAlias),
        _ => false,
    };
}
