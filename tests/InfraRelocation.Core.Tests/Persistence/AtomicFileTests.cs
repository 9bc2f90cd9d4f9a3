using System.Diagnostics;
using Xunit.Abstractions;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Tests.Persistence;

public sealed class AtomicFileTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ir-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_CreatesAndReplaces_KeepingPermissions_AndLeavesNoTempFile()
    {
        var path = Path.Combine(_dir, "a.yaml");
        AtomicFile.Write(path, "one"u8);
        Assert.Equal("one"u8.ToArray(), File.ReadAllBytes(path));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }
        AtomicFile.Write(path, "two"u8);
        Assert.Equal("two"u8.ToArray(), File.ReadAllBytes(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        }
        Assert.Equal(["a.yaml"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_RemovesTempFilesOfDeadWriters()
    {
        var path = Path.Combine(_dir, "a.yaml");
        var dead = Path.Combine(_dir, ".a.yaml.ir-tmp-999999-0123");
        File.WriteAllText(dead, "torn");
        Assert.True(AtomicFile.IsTempFile(dead));
        AtomicFile.Write(path, "x"u8);
        Assert.False(File.Exists(dead));
    }

    /// <summary>
    /// A child process rewrites a 2 MB file forever, alternating two contents; we SIGKILL it at random moments.
    /// After every kill the file is exactly one of the two contents — never torn or empty.
    /// </summary>
    [Fact]
    public void KilledWriter_NeverLeavesATornFile()
    {
        const int size = 2 * 1024 * 1024;
        var path = Path.Combine(_dir, "big.bin");
        var random = new Random(1234);
        var budget = Stopwatch.StartNew();
        var iterations = 0;
        var sawA = false;
        var sawB = false;
        while (iterations < 200 && budget.Elapsed < TimeSpan.FromSeconds(45))
        {
            using var child = Child.Start("atomic", path, size.ToString());
            Child.WaitForLine(child, "ready", TimeSpan.FromSeconds(30));
            Thread.Sleep(random.Next(0, 40));
            child.Kill();
            child.WaitForExit();
            iterations++;

            var bytes = File.ReadAllBytes(path);
            Assert.Equal(size, bytes.Length);
            var fill = bytes[0];
            Assert.True(fill is (byte)'A' or (byte)'B');
            Assert.True(bytes.AsSpan().IndexOfAnyExcept(fill) < 0, $"torn file after kill #{iterations}");
            sawA |= fill == 'A';
            sawB |= fill == 'B';
        }
        output.WriteLine($"{iterations} kills in {budget.Elapsed.TotalSeconds:0.0}s, no torn file");
        Assert.True(iterations >= 20, $"only {iterations} iterations ran");
        Assert.True(sawA && sawB);

        // Leftover temp files of the killed writers are ignored by readers and removed by the next write.
        AtomicFile.Write(path, "final"u8);
        Assert.Equal(["big.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}
