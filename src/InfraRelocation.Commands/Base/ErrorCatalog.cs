using System.Reflection;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// The error catalog, docs/en-US/about_InfraRelocation_Errors.md, embedded in this assembly: one
/// <c>### Id</c> section per error id and rule id, with its meaning and, for errors, an <c>Action:</c> line.
/// The help page, the RecommendedAction of every error record and the catalog test read the same file,
/// so they cannot disagree.
/// </summary>
internal static class ErrorCatalog
{
    private const string ResourceName = "InfraRelocation.Errors.md";
    private const string ActionPrefix = "Action:";

    private static readonly Lazy<IReadOnlyDictionary<string, string>> Actions = new(Load);

    /// <summary>The recommended action for <paramref name="id"/>, or null when the catalog lists none.</summary>
    public static string? ActionFor(string id) => Actions.Value.TryGetValue(id, out var action) ? action : null;

    private static IReadOnlyDictionary<string, string> Load()
    {
        var actions = new Dictionary<string, string>(StringComparer.Ordinal);
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The error catalog ({ResourceName}) is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}.");
        using var reader = new StreamReader(stream);
        string? id = null;
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                id = line[4..].Trim();
            }
            else if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                id = null;
            }
            else if (id is not null && line.StartsWith(ActionPrefix, StringComparison.Ordinal))
            {
                actions[id] = line[ActionPrefix.Length..].Trim();
            }
        }
        return actions;
    }
}
