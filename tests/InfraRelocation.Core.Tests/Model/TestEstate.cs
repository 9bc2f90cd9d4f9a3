using InfraRelocation.Core.Estate;

namespace InfraRelocation.Core.Tests.Model;

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

    /// <summary>Copies the sample estate (ops/) into a new temporary folder and returns its root.</summary>
    public static string CopySample()
    {
        var root = Path.Combine(Path.GetTempPath(), "ir-model-" + Guid.NewGuid().ToString("n")[..12]);
        CopyDirectory(Path.Combine(RepoRoot, "ops"), Path.Combine(root, "ops"));
        return root;
    }

    public static Estate.Estate Load(string root) => EstateLoader.Load(EstateLayoutLoader.Load(root));

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

/// <summary>A temporary copy of the sample estate, deleted afterwards.</summary>
public sealed class SampleCopy : IDisposable
{
    public SampleCopy() => Root = TestEstate.CopySample();

    public string Root { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
