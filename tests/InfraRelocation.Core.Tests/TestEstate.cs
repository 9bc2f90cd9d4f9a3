using InfraRelocation.Core.Estate;

namespace InfraRelocation.Core.Tests;

/// <summary>The sample estate of the repository and throw-away copies of it.</summary>
internal static class TestEstate
{
    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "InfraRelocation.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("InfraRelocation.sln not found above the test assembly.");
    });

    /// <summary>The repository root (itself the sample estate root).</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>
    /// Copies the sample estate (ops/) into a new temporary folder and returns its root: the one estate copy of the
    /// xUnit tests (<see cref="SampleCopy"/> wraps it with edit helpers and deletes it afterwards).
    /// </summary>
    public static string CopySample()
    {
        var root = Directory.CreateTempSubdirectory("ir-estate-").FullName;
        CopyDirectory(Path.Combine(RepoRoot, "ops"), Path.Combine(root, "ops"));
        return root;
    }

    public static Estate.EstateSnapshot Load(string root) => EstateLoader.Load(EstateLayoutLoader.Load(root));

    public static void Edit(string root, string relative, Func<string, string> edit)
    {
        var path = Path.Combine(root, relative);
        var before = File.ReadAllText(path);
        var after = edit(before);
        if (before == after)
        {
            throw new InvalidOperationException($"The edit of {relative} changed nothing.");
        }
        File.WriteAllText(path, after);
    }

    /// <summary>
    /// <paramref name="text"/> with one to three random edits: a character removed, or one of
    /// <paramref name="noise"/> inserted (the same <paramref name="random"/> seed gives the same damage).
    /// </summary>
    public static string Damage(string text, Random random, string noise)
    {
        var chars = text.ToCharArray().ToList();
        for (var edits = random.Next(1, 4); edits > 0; edits--)
        {
            var at = random.Next(chars.Count);
            if (random.Next(2) == 0)
            {
                chars.RemoveAt(at);
            }
            else
            {
                chars.Insert(at, noise[random.Next(noise.Length)]);
            }
        }
        return new string(chars.ToArray());
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
