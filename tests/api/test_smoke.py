async def test_issue_then_call_next_calls_that_ticket(hall):
    ticket = await hall.issue("A")
    assert ticket["number"] == "A001"
    await hall.act(1, "open")
    called = await hall.act(1, "call-next")
    assert called["ticket"]["number"] == "A001"
    assert called["ticket"]["status"] == "called"
