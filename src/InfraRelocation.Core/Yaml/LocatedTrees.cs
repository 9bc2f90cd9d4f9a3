using System.Collections.Concurrent;

namespace InfraRelocation.Core.Yaml;

/// <summary>
/// The located trees a stage of a change (a preview, a commit) edits: the editor parses a file's text once however
/// many edits it applies, and its read-back of the result is the tree the mutation guard judges and the check after
/// the write reads (<see cref="Reuse"/>). The loader reuses these trees but does not add to them: it lets each file's
/// tree go before it parses the next (peak memory on large estates). Trees are not changed after parsing, so readers
/// share them. Owned by the stage's <see cref="Persistence.EstateTransaction"/> and dropped with it.
/// </summary>
public sealed class LocatedTrees
{
    private readonly ConcurrentDictionary<string, Lazy<Parsed>> _trees = new();

    private sealed record Parsed(YNode? Root, bool HasAliases);

    /// <summary>How many texts were parsed (each once).</summary>
    public int Parses => _trees.Count;

    /// <summary>
    /// The tree of a text this stage already holds, else <see cref="LocatedYamlReader.Parse"/> without keeping it
    /// (the loader's way).
    /// </summary>
    public YNode? Reuse(string text, string relativePath) =>
        _trees.TryGetValue(text, out var held) && held.IsValueCreated ? Refusing(held.Value, text, relativePath) : LocatedYamlReader.Parse(text, relativePath);

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
