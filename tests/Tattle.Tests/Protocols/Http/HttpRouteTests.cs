using Tattle.Protocols.Http;

namespace Tattle.Tests.Protocols.Http;

public sealed class HttpRouteTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/index.html", "/index.html")]
    [InlineData("/users/12345/orders?status=shipped&page=2", "/users/{id}/orders")]
    [InlineData("/users/12345/orders/77#top", "/users/{id}/orders/{id}")]
    [InlineData("/objects/123e4567-e89b-12d3-a456-426614174000", "/objects/{id}")]
    [InlineData("/blobs/sha256/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "/blobs/sha256/{id}")]
    [InlineData("/v1/deadbeefcafebabe", "/v1/deadbeefcafebabe")] // hex, but no digit: a word, not an id
    [InlineData("/api/v2/items", "/api/v2/items")]
    [InlineData("http://example.com:8080/users/42?x=1", "/users/{id}")]
    [InlineData("http://example.com", "/")]
    [InlineData("*", "*")]
    [InlineData("/a//b/", "/a//b/")]
    public void Template_FoldsIdentifiersAndDropsTheQuery(string target, string route) =>
        Assert.Equal(route, HttpRoute.Template(target));

    [Fact]
    public void Template_KeepsTheSameInstanceWhenNothingChanges()
    {
        const string path = "/static/app.js";
        Assert.Same(path, HttpRoute.Template(path));
        Assert.Null(HttpRoute.Template(null));
    }

    [Fact]
    public void Template_OfARecurringTarget_IsMadeOnce_AndTargetsSharingASlotKeepTheirOwn()
    {
        // Two strings of the same length and last character land in the same slot of the recent templates.
        string a = new("/users/12345/x".ToCharArray()), b = new("/items/67890/x".ToCharArray());
        string first = HttpRoute.Template(a)!;
        Assert.Equal("/users/{id}/x", first);
        Assert.Same(first, HttpRoute.Template(a));
        Assert.Equal("/items/{id}/x", HttpRoute.Template(b));
        Assert.Equal("/users/{id}/x", HttpRoute.Template(a));
        // Equal text in another string is not found by reference, and gets the same template.
        Assert.Equal("/users/{id}/x", HttpRoute.Template(new string("/users/12345/x".ToCharArray())));
    }
}
